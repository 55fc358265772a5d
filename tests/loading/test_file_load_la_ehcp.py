"""EHCP files from offer to warehouse: the bundled 2025 caseload slice and small files of other releases."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from sendflow.loading.file_load import Context, ingest_path
from sendflow.loading.outcomes import FileOutcome
from sendflow.warehouse import ledger
from tests.conftest import SAMPLE_DIR, count_rows

CASELOAD_2025 = SAMPLE_DIR / "ehcp_caseload_2025.csv"


def _raw(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


def _write(frame: pl.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(frame.write_csv().encode("utf-8"))
    return path


def _england_totals(path: Path) -> dict[int, float]:
    """The file's own national all-plans rows: January -> EHC plans."""
    national = _raw(path).filter(pl.col("geographic_level") == "National", pl.col("breakdown") == "All EHC plans")
    return {int(r["time_period"][:4]) + 1: float(r["ehcplans"]) for r in national.iter_rows(named=True)}


def _fct(context: Context, where: str = "") -> pl.DataFrame:
    return ledger.query(
        context.warehouse, f"SELECT * FROM fct_la_ehcp {where} ORDER BY la_code, calendar_year, measure, breakdown"
    )


def _value(context: Context, la_code: str, year: int, measure: str = "caseload", breakdown: str = "total") -> tuple:
    found = ledger.query(
        context.warehouse,
        f"SELECT value, release FROM fct_la_ehcp WHERE la_code = '{la_code}' AND calendar_year = {year} "
        f"AND measure = '{measure}' AND breakdown = '{breakdown}'",
    )
    return found.row(0) if found.height else ()


def _age_caseload_2022(path: Path, england_2019: str) -> Path:
    """A slice shaped like the 2022 release's sen2_age_caseload.csv (old_la_code before new_la_code); its
    latest January, 2022, makes it the 2022 release."""
    rows = [
        ("2022", "National", "", "", "Total", "z", "473255", "473255"),
        ("2018", "National", "", "", "Total", "z", "285722", "285722"),
        ("2019", "National", "", "", "Total", "z", england_2019, england_2019),
        ("2018", "Local authority", "202", "E09000007", "Total", "z", "1300", "1300"),
        ("2019", "Local authority", "202", "E09000007", "Total", "z", "1350", "1350"),
        ("2019", "Local authority", "202", "E09000007", "Under 5", "z", "40", "40"),
    ]
    header = ("time_period", "geographic_level", "old_la_code", "new_la_code", "characteristic_age", "Total_st",
              "Total_ehc", "Total_all")  # fmt: skip
    frame = pl.DataFrame([dict(zip(header, row, strict=True)) for row in rows], schema=dict.fromkeys(header, pl.String))
    return _write(frame.with_columns(pl.lit("Calendar year").alias("time_identifier")), path)


def _newplans_2025(path: Path) -> Path:
    header = ("time_period", "geographic_level", "old_la_code", "breakdown_topic", "breakdown", "new_ehc_plans",
              "mainstream_total", "special_total")  # fmt: skip
    rows = [
        ("2024", "National", "", "New EHC plans", "New EHC plans", "97747", "73369", "9064"),
        ("2024", "Local authority", "202", "New EHC plans", "New EHC plans", "410", "300", "60"),
    ]
    return _write(pl.DataFrame([dict(zip(header, r, strict=True)) for r in rows], orient="row"), path)


def test_sample_caseload_loads_with_the_published_england_totals(context: Context) -> None:
    outcome = ingest_path(CASELOAD_2025, None, context)

    assert outcome.status == "loaded", outcome.message
    assert (outcome.dataset, outcome.partitions, outcome.rows_quarantined) == (
        "la_ehcp",
        ({"release": 2025, "source_table": "caseload"},),
        0,
    )
    published = {year: _value(context, "ENG", year) for year in range(2019, 2026)}
    assert published == {year: (value, 2025) for year, value in _england_totals(CASELOAD_2025).items()}
    assert published[2025] == (638_745.0, 2025) and published[2024] == (576_474.0, 2025)
    # One release, no table publishing a figure twice: the fact table is the observations.
    assert count_rows(context.warehouse, "fct_la_ehcp") == count_rows(context.warehouse, "la_ehcp_observation")
    assert count_rows(context.warehouse, "fct_la_ehcp", f"WHERE load_id <> {outcome.load_id}") == 0


def test_sample_la_rows_all_resolve_to_the_la_dimension(context: Context) -> None:
    assert ingest_path(CASELOAD_2025, None, context).status == "loaded"

    codes = ledger.query(context.warehouse, "SELECT DISTINCT la_code FROM fct_la_ehcp ORDER BY la_code")
    unknown = ledger.query(
        context.warehouse,
        "SELECT DISTINCT f.la_code FROM fct_la_ehcp f LEFT JOIN dim_local_authority la ON la.la_code = f.la_code "
        "WHERE f.la_code <> 'ENG' AND la.la_code IS NULL",
    )
    assert codes["la_code"].to_list() == ["201", "202", "909", "928", "940", "941", "942", "943", "ENG"]
    assert unknown.is_empty()
    # Cumbria (909) is in the series until January 2023, Cumberland (942) from January 2024.
    years = ledger.query(
        context.warehouse,
        "SELECT la_code, MIN(calendar_year) AS first, MAX(calendar_year) AS last FROM fct_la_ehcp "
        "WHERE la_code IN ('909', '942') GROUP BY la_code ORDER BY la_code",
    )
    assert years.rows() == [("909", 2019, 2023), ("942", 2024, 2025)]


@pytest.mark.parametrize("newest_first", [False, True], ids=["oldest_first", "newest_first"])
def test_the_newest_release_wins_whatever_the_load_order(context: Context, tmp_path: Path, newest_first: bool) -> None:
    older = _age_caseload_2022(tmp_path / "ehcp_sen2_2022" / "sen2_age_caseload.csv", england_2019="350000")
    files = [CASELOAD_2025, older] if newest_first else [older, CASELOAD_2025]

    outcomes = [ingest_path(path, None, context) for path in files]

    assert [o.status for o in outcomes] == ["loaded", "loaded"], [o.message for o in outcomes]
    assert _value(context, "ENG", 2019) == (353_995.0, 2025)  # 2025 release over the 2022 one
    assert _value(context, "ENG", 2018) == (285_722.0, 2022)  # only the 2022 release counts January 2018
    assert _value(context, "202", 2019, breakdown="age:0-4") == (40.0, 2022)  # a band only 2022 publishes
    # Both values of January 2019 stay in the observations and in the lake.
    both = ledger.query(
        context.warehouse,
        "SELECT release, value FROM la_ehcp_observation WHERE la_code = 'ENG' AND calendar_year = 2019 "
        "AND measure = 'caseload' AND breakdown = 'total' ORDER BY release",
    )
    assert both.rows() == [(2022, 350_000.0), (2025, 353_995.0)]
    lake = pl.read_parquet(
        context.lake.silver / "la_ehcp_observation" / "release=2022" / "source_table=sen2_age_caseload" / "*.parquet"
    )
    england_2019 = (pl.col("la_code") == "ENG") & (pl.col("calendar_year") == 2019) & (pl.col("breakdown") == "total")
    assert lake.filter(england_2019, pl.col("measure") == "caseload")["value"].to_list() == [350_000.0]
    fact = pl.read_parquet(context.lake.silver / "fct_la_ehcp" / "data.parquet")
    assert fact.filter(england_2019, pl.col("measure") == "caseload")["value"].to_list() == [353_995.0]


def test_both_load_orders_publish_the_same_fact_table(tmp_path: Path, context: Context) -> None:
    from sendflow.core.settings import Settings
    from sendflow.warehouse.schema import ensure_schema

    older = _age_caseload_2022(tmp_path / "ehcp_sen2_2022" / "sen2_age_caseload.csv", england_2019="350000")
    other = Context.from_settings(Settings(home=tmp_path / "other"))
    ensure_schema(other.warehouse)

    for ctx, files in ((context, [older, CASELOAD_2025]), (other, [CASELOAD_2025, older])):
        assert all(ingest_path(path, None, ctx).status == "loaded" for path in files)

    assert _fct(context).drop("load_id").equals(_fct(other).drop("load_id"))


def test_reloading_one_file_replaces_only_its_own_partition(context: Context, tmp_path: Path) -> None:
    first = ingest_path(CASELOAD_2025, None, context)
    plans = ingest_path(_newplans_2025(tmp_path / "newplans.csv"), None, context)
    revised = _raw(CASELOAD_2025).with_columns(
        pl.when(
            (pl.col("old_la_code") == "202")
            & (pl.col("time_period") == "202425")
            & (pl.col("breakdown") == "All EHC plans")
        )
        .then(pl.lit("9999"))
        .otherwise(pl.col("ehcplans"))
        .alias("ehcplans")
    )  # fmt: skip

    again = ingest_path(_write(revised, tmp_path / "caseload_revised.csv"), None, context)

    assert (first.status, plans.status, again.status) == ("loaded", "loaded", "loaded"), again.message
    assert again.partitions == ({"release": 2025, "source_table": "caseload"},)
    assert _value(context, "202", 2025) == (9999.0, 2025)
    loads = ledger.query(
        context.warehouse,
        "SELECT source_table, MIN(load_id) AS first, MAX(load_id) AS last FROM la_ehcp_observation "
        "GROUP BY source_table ORDER BY source_table",
    )
    assert loads.rows() == [("caseload", again.load_id, again.load_id), ("newplans", plans.load_id, plans.load_id)]
    assert _value(context, "202", 2024, measure="new_plans") == (410.0, 2025)
    superseded = ledger.query(context.warehouse, "SELECT load_id, superseded_by_load_id FROM etl_load ORDER BY load_id")
    assert superseded.rows() == [(first.load_id, again.load_id), (plans.load_id, None), (again.load_id, None)]
    # A fact keeps the load that brought its value, not the load that rebuilt the table.
    fct_plans = ledger.query(context.warehouse, "SELECT load_id FROM fct_la_ehcp WHERE measure = 'new_plans'")
    assert set(fct_plans["load_id"]) == {plans.load_id}


def test_a_bad_row_is_quarantined_by_number_and_the_rest_published(context: Context, tmp_path: Path) -> None:
    raw = _raw(CASELOAD_2025)
    bad_index = raw.with_row_index().filter(pl.col("old_la_code") == "202")["index"][0]
    broken = raw.with_columns(
        pl.when(pl.int_range(pl.len()) == bad_index)
        .then(pl.lit("999"))
        .otherwise(pl.col("old_la_code"))
        .alias("old_la_code")
    )

    outcome = ingest_path(_write(broken, tmp_path / "caseload.csv"), None, context)

    assert outcome.status == "loaded", outcome.message
    assert outcome.rows_quarantined == 1
    held = ledger.query(context.warehouse, "SELECT * FROM etl_quarantine").row(0, named=True)
    assert held["source_row_number"] == bad_index + 2  # the header is row 1
    assert held["dataset"] == "la_ehcp" and "la_code_known (la_code='999')" in held["reasons"]
    assert json.loads(held["record"])["old_la_code"] == "999"
    assert count_rows(context.warehouse, "fct_la_ehcp", "WHERE la_code = '999'") == 0
    assert count_rows(context.warehouse, "fct_la_ehcp", "WHERE la_code = '202'") > 0


def test_a_file_whose_time_period_names_no_year_is_rejected_naming_the_release(
    context: Context, tmp_path: Path
) -> None:
    undated = _raw(CASELOAD_2025).with_columns(pl.lit("latest").alias("time_period"))

    outcome: FileOutcome = ingest_path(_write(undated, tmp_path / "caseload.csv"), None, context)

    assert outcome.status == "rejected"
    assert "release" in outcome.message and "time_period" in outcome.message
    assert count_rows(context.warehouse, "la_ehcp_observation") == 0


def test_both_backends_load_the_sample_and_rebuild_the_fact_table(backend_context: Context, tmp_path: Path) -> None:
    older = _age_caseload_2022(tmp_path / "ehcp_sen2_2022" / "sen2_age_caseload.csv", england_2019="350000")

    outcomes = [ingest_path(path, None, backend_context) for path in (CASELOAD_2025, older)]

    assert [o.status for o in outcomes] == ["loaded", "loaded"], [o.message for o in outcomes]
    assert _value(backend_context, "ENG", 2025) == (638_745.0, 2025)
    assert _value(backend_context, "ENG", 2019) == (353_995.0, 2025)
    assert _value(backend_context, "ENG", 2018) == (285_722.0, 2022)
    observations = count_rows(backend_context.warehouse, "la_ehcp_observation")
    # Of the 2022 slice's 12 values (6 rows, plans and statements) the 2025 release also gives three: the
    # England totals of January 2019 and 2022 and Camden's of January 2019.
    assert count_rows(backend_context.warehouse, "fct_la_ehcp") == observations - 3
