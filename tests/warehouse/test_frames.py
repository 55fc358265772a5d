"""Exact column types between Polars, Arrow and the SQL models: ADBC refuses near-miss types."""

from __future__ import annotations

from datetime import date

import polars as pl
import pyarrow as pa
import pytest
from sqlmodel import SQLModel

from sendflow.warehouse.frames import arrow_schema, conform, from_arrow, to_arrow
from sendflow.warehouse.models import EtlLoad, EtlQuarantine, FctSchoolCensus, SchoolRegisterSnapshot, table_of

CENSUS = table_of(FctSchoolCensus)
REGISTER = table_of(SchoolRegisterSnapshot)


def _census_frame() -> pl.DataFrame:
    # Deliberately out of the model's order, narrower than its types, and with a column it doesn't have.
    return pl.DataFrame(
        {
            "scratch": ["dropped"],
            "total_pupils": pl.Series([244], dtype=pl.Int32),
            "ehc_plan_pct": pl.Series([2], dtype=pl.Int64),
            "urn": ["100000"],
            "academic_year": ["2023/24"],
            "census_date": [date(2024, 1, 18)],
        }
    )


def test_conform_orders_columns_as_the_table_does_and_drops_extras() -> None:
    conformed = conform(_census_frame(), CENSUS)

    assert conformed.columns == [column.name for column in CENSUS.columns]
    assert "scratch" not in conformed.columns


def test_conform_casts_to_the_model_types() -> None:
    conformed = conform(_census_frame(), CENSUS)

    assert conformed.schema["total_pupils"] == pl.Int64
    assert conformed.schema["ehc_plan_pct"] == pl.Float64
    assert conformed.schema["census_date"] == pl.Date
    assert conformed.row(0, named=True)["ehc_plan_pct"] == 2.0


def test_conform_fills_absent_columns_with_typed_nulls() -> None:
    conformed = conform(_census_frame(), CENSUS)

    assert conformed["la_code"].to_list() == [None]
    assert conformed.schema["la_code"] == pl.String
    assert conformed.schema["sen_support"] == pl.Int64
    assert conformed.schema["sen_support_pct"] == pl.Float64


def test_to_arrow_gives_the_exact_types_adbc_expects() -> None:
    data = to_arrow(_census_frame(), CENSUS)

    assert data.schema.field("total_pupils").type == pa.int64()
    assert data.schema.field("source_row_number").type == pa.int64()
    # Polars exports large_string / string_view by default; the SQL drivers want plain string.
    assert data.schema.field("urn").type == pa.string()
    assert data.schema.field("la_code").type == pa.string()
    assert data.schema.field("census_date").type == pa.date32()
    assert data.schema.field("ehc_plan_pct").type == pa.float64()
    assert data.schema == arrow_schema(CENSUS)


def test_to_arrow_keeps_values() -> None:
    data = to_arrow(_census_frame(), CENSUS)

    row = data.slice(0, 1).to_pylist()[0]
    assert (row["urn"], row["total_pupils"], row["census_date"], row["la_code"]) == (
        "100000",
        244,
        date(2024, 1, 18),
        None,
    )


@pytest.mark.parametrize(
    ("model", "column"),
    [(EtlLoad, "load_id"), (EtlQuarantine, "load_id"), (EtlQuarantine, "source_row_number")],
)
def test_key_columns_are_int64_in_arrow(model: type[SQLModel], column: str) -> None:
    # etl_load.load_id is BIGINT on PostgreSQL but INTEGER on SQLite (a type variant); Arrow must still see int64.
    assert arrow_schema(table_of(model)).field(column).type == pa.int64()


def test_from_arrow_parses_sqlite_text_dates() -> None:
    stored = pa.table(
        {
            "urn": ["100000", "100001"],
            "academic_year": ["2023/24", "2023/24"],
            "census_date": ["2024-01-18", None],
            "total_pupils": [244, 764],
            "ehc_plan_pct": [2.5, 0.0],
        }
    )

    frame = from_arrow(stored, CENSUS)

    assert frame.schema["census_date"] == pl.Date
    assert frame["census_date"].to_list() == [date(2024, 1, 18), None]
    assert frame.schema["total_pupils"] == pl.Int64
    assert frame.schema["ehc_plan_pct"] == pl.Float64


def test_from_arrow_turns_sqlite_integers_into_booleans() -> None:
    stored = pa.table({"urn": ["100000", "100001"], "snapshot_date": ["2023-09-01", "2023-09-01"], "is_open": [1, 0]})

    frame = from_arrow(stored, REGISTER)

    assert frame.schema["is_open"] == pl.Boolean
    assert frame["is_open"].to_list() == [True, False]
    assert frame.schema["snapshot_date"] == pl.Date


def test_from_arrow_refuses_a_malformed_stored_date() -> None:
    # A wrong date must surface, not become a NULL that silently drops the row from a partition.
    stored = pa.table({"urn": ["100000"], "snapshot_date": ["01/09/2023"]})

    with pytest.raises(pl.exceptions.PolarsError):
        from_arrow(stored, REGISTER)


def test_to_arrow_then_from_arrow_round_trips_a_conformed_frame() -> None:
    frame = _census_frame()

    back = from_arrow(to_arrow(frame, CENSUS), CENSUS)

    assert back.equals(conform(frame, CENSUS))
    assert back.schema == conform(frame, CENSUS).schema
