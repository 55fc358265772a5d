"""The full real DfE files load, and their totals match the published figures (marked realdata)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from sendflow.loading.file_load import Context, ingest_path
from sendflow.warehouse import ledger
from sendflow.warehouse.reference import known_la_codes
from tests.conftest import count_rows

pytestmark = pytest.mark.realdata


def _totals(context: Context, year: str, extra: str = "") -> dict:
    return ledger.query(
        context.warehouse,
        "SELECT COUNT(*) AS schools, SUM(total_pupils) AS pupils, SUM(ehc_plan) AS ehc, SUM(sen_support) AS k "
        f"FROM fct_school_census WHERE academic_year = '{year}' {extra}",
    ).row(0, named=True)


def _national_rows(path: Path) -> dict[str, tuple[int, int, int]]:
    raw = pl.read_csv(path, infer_schema=False).filter(pl.col("URN") == "NAT")
    estab = "ESTAB" if "ESTAB" in raw.columns else "Estab"
    return {r[estab]: (int(r["NOR"]), int(r["TSENELSE"]), int(r["TSENELK"])) for r in raw.iter_rows(named=True)}


def test_census_2023_24_matches_the_published_totals(real_data: Path, context: Context) -> None:
    path = real_data / "sen_school_level" / "perf_tables_england_census_2023-24.csv"

    outcome = ingest_path(path, None, context)

    assert outcome.status == "loaded", outcome.message
    assert outcome.rows_quarantined == 0
    totals = _totals(context, "2023/24")
    assert (totals["schools"], totals["pupils"], totals["ehc"], totals["k"]) == (24_444, 9_091_421, 433_954, 1_238_715)
    national = _national_rows(path)
    for code, school_type in (("PRI", "State-funded primary"), ("SEC", "State-funded secondary")):
        phase = _totals(context, "2023/24", f"AND school_type = '{school_type}'")
        assert (phase["pupils"], phase["ehc"], phase["k"]) == national[code]


def test_census_2023_24_workbook_loads_the_same_rows_as_its_csv_export(real_data: Path, context: Context) -> None:
    folder = real_data / "sen_school_level"
    assert ingest_path(folder / "perf_tables_england_census_2023-24.csv", None, context).status == "loaded"
    from_csv = ledger.query(context.warehouse, "SELECT * FROM fct_school_census ORDER BY urn")

    outcome = ingest_path(folder / "perf_tables_england_census_2023-24.xlsx", None, context)

    assert outcome.status == "loaded", outcome.message
    from_xlsx = ledger.query(context.warehouse, "SELECT * FROM fct_school_census ORDER BY urn")
    counts = [c for c in from_csv.columns if c.endswith(("pupils", "_plan", "_support", "_status")) or c == "urn"]
    assert from_xlsx.select(counts).equals(from_csv.select(counts))
    diff: float = from_xlsx.select((pl.col("ehc_plan_pct") - from_csv["ehc_plan_pct"]).abs().max()).item()
    assert diff is not None and diff < 1e-6  # the workbook stores the same fractions the export prints


def test_census_2018_19_loads_with_the_same_code(real_data: Path, context: Context) -> None:
    path = real_data / "sen_school_level" / "perf_tables_england_census_2018-19.csv"

    outcome = ingest_path(path, None, context)

    assert outcome.status == "loaded", outcome.message
    assert _totals(context, "2018/19")["schools"] == 23_939
    national = _national_rows(path)
    for code, school_type in (("PRI", "State-funded primary"), ("SEC", "State-funded secondary")):
        phase = _totals(context, "2018/19", f"AND school_type = '{school_type}'")
        assert (phase["pupils"], phase["ehc"], phase["k"]) == national[code]
    # Independent schools publish no language or FSM figures: NULL with the publisher's 'NA' as status x.
    independent = ledger.query(
        context.warehouse,
        "SELECT COUNT(*) AS n FROM fct_school_census WHERE school_type = 'Independent school' "
        "AND eal_pupils IS NULL AND supplementary_status = 'x'",
    )["n"][0]
    assert independent > 1_000
    percentages = _totals(context, "2018/19", "AND ehc_plan_pct > 1")  # 0-100 scale, not fractions
    assert percentages["schools"] > 1_000


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_school_information_loads_every_urn(real_data: Path, context: Context, suffix: str) -> None:
    path = real_data / "gias" / f"perf_tables_england_school_information_2023-24.{suffix}"
    urns = 25_489  # every row of the file, one per URN (SOURCES.md)

    outcome = ingest_path(path, None, context)

    assert outcome.status == "loaded", outcome.message
    assert outcome.rows_loaded == urns
    assert count_rows(context.warehouse, "dim_school", "WHERE is_current") == urns
    assert count_rows(context.warehouse, "dim_school", "WHERE la_code = '909'") > 0  # pre-2023 Cumbria, closed


def test_reference_covers_every_la_number_in_the_real_files(real_data: Path) -> None:
    seen: set[str] = set()
    for path, column in (
        ("sen_school_level/perf_tables_england_census_2018-19.csv", "LA"),
        ("sen_school_level/perf_tables_england_census_2023-24.csv", "LA"),
        ("gias/perf_tables_england_school_information_2023-24.csv", "LA"),
        ("la_funding/ehcp_sen2_2025/caseload.csv", "old_la_code"),
        ("la_funding/ehcp_sen2_2022/sen2_age_caseload.csv", "old_la_code"),
        ("la_funding/ehcp_sen2_2023/sen2_mi.csv", "old_la_code"),
        ("la_funding/s251_high_needs/s251_outturn_2023-24_SEN_high_needs_lines_by_LA.csv", "old_la_code"),
        ("other/perf_tables_la_and_region_codes_meta.csv", "LEA"),
    ):
        values = pl.read_csv(real_data / path, infer_schema=False)[column].drop_nulls()
        seen |= {v.strip() for v in values if v.strip().isdigit()}
    assert seen, "no LA codes read"
    assert seen - known_la_codes() == set()


def test_census_2023_24_gives_the_same_totals_on_both_backends(real_data: Path, backend_context: Context) -> None:
    path = real_data / "sen_school_level" / "perf_tables_england_census_2023-24.csv"

    outcome = ingest_path(path, None, backend_context)

    assert outcome.status == "loaded", outcome.message
    totals = _totals(backend_context, "2023/24")
    assert (totals["schools"], totals["pupils"], totals["ehc"], totals["k"]) == (24_444, 9_091_421, 433_954, 1_238_715)
