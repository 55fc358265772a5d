"""A load is all or nothing: a failure mid-publish leaves tables, ledger and lake exactly as they were."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from sendflow.core.vocabulary import LoadStatus
from sendflow.loading.file_load import Context, ingest_path
from sendflow.warehouse import ledger
from sendflow.warehouse.ledger import LoadRecord
from sendflow.warehouse.publish import Batch, Derivation, Partitioned, publish
from tests.conftest import SAMPLE_DIR, count_rows


def _snapshot_rows(day: date, urns: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "urn": urns,
            "snapshot_date": [day] * len(urns),
            "la_code": ["202"] * len(urns),
            "laestab": [f"202{i:04d}" for i in range(len(urns))],
            "school_name": [f"School {u}" for u in urns],
            "is_open": [True] * len(urns),
            "has_trust_info": [True] * len(urns),
            "trust_id": ["1001"] * len(urns),
        }
    )


def _record(sha: str) -> LoadRecord:
    return LoadRecord(source_name="test.csv", source_sha256=sha, status=LoadStatus.FAILED, started_at=ledger.now(),
                      dataset="school_register")  # fmt: skip


def _state(context: Context) -> tuple:
    tables = tuple(
        ledger.query(context.warehouse, f"SELECT * FROM {t} ORDER BY 1, 2").drop("load_id", strict=False).rows()
        for t in ("school_register_snapshot", "dim_school", "etl_load")
    )
    lake = sorted(str(p) for p in context.lake.root.rglob("*") if p.is_file())
    return (*tables, lake)


def test_failure_while_deriving_tables_rolls_everything_back(backend_context: Context) -> None:
    from sendflow.transforms.school_dimensions import dim_school

    first = publish(
        backend_context.warehouse, backend_context.lake, _record("a" * 64),
        [Batch([Partitioned("school_register_snapshot", ("snapshot_date",),
                            _snapshot_rows(date(2023, 9, 1), ["100001"]))], pl.DataFrame())],
        {"dim_school": Derivation(("school_register_snapshot",), dim_school)},
    )  # fmt: skip
    before = _state(backend_context)

    def broken(_: pl.DataFrame) -> pl.DataFrame:
        raise RuntimeError("disk full while deriving")

    with pytest.raises(RuntimeError, match="disk full"):
        publish(
            backend_context.warehouse, backend_context.lake, _record("b" * 64),
            [Batch([Partitioned("school_register_snapshot", ("snapshot_date",),
                                _snapshot_rows(date(2023, 9, 1), ["100001", "100002"]))], pl.DataFrame())],
            {"dim_school": Derivation(("school_register_snapshot",), broken)},
        )  # fmt: skip

    assert first.status == "loaded"
    assert _state(backend_context) == before
    assert not list(backend_context.lake.root.rglob("*.partial"))  # core.files.temporary_beside's names


def test_a_rerun_after_a_failure_gives_the_warehouse_a_clean_run_gives(
    backend_context: Context, tmp_path: Path
) -> None:
    census = SAMPLE_DIR / "england_census_2023-24.csv"
    clean = ingest_path(census, None, backend_context)
    expected = ledger.query(backend_context.warehouse, "SELECT * FROM fct_school_census ORDER BY urn").drop("load_id")

    # Start again from empty, fail once mid-publish, then rerun: the result must match the clean run.
    def killed(_: pl.DataFrame) -> pl.DataFrame:
        raise RuntimeError("killed")

    stray = pl.DataFrame({"urn": ["1"], "academic_year": ["x"]})
    with pytest.raises(RuntimeError):
        publish(
            backend_context.warehouse, backend_context.lake, _record("c" * 64),
            [Batch([Partitioned("fct_school_census", ("academic_year",), stray)], pl.DataFrame())],
            {"dim_trust": Derivation(("fct_school_census",), killed)},
        )  # fmt: skip
    rerun = ingest_path(census, None, backend_context)

    assert clean.status == "loaded" and rerun.status == "duplicate"
    after = ledger.query(backend_context.warehouse, "SELECT * FROM fct_school_census ORDER BY urn").drop("load_id")
    assert after.equals(expected)
    assert count_rows(backend_context.warehouse, "fct_school_census", "WHERE academic_year = 'x'") == 0
