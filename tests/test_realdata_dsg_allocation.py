"""Every real DSG workbook loads, read directly as ODS, and its LA rows equal ESFA's England totals."""

from __future__ import annotations

from pathlib import Path

import pytest

from sendflow.loading.file_load import Context, ingest_path
from sendflow.warehouse import ledger
from tests.conftest import count_rows

pytestmark = pytest.mark.realdata

# ENGLAND before deductions (SOURCES.md), which the LA rows must sum to.
TOTAL_BEFORE_DEDUCTIONS = {
    "2020-21": 47_398_128_853,
    "2021-22": 51_128_654_118,
    "2022-23": 53_635_279_409,
    "2023-24": 57_135_884_056,
}
HIGH_NEEDS_BEFORE_DEDUCTIONS = {
    "2020-21": 7_063_230_381,
    "2021-22": 7_906_348_577,
    "2022-23": 8_988_258_915,
    "2023-24": 9_952_172_126,
}


def test_every_workbook_loads_and_matches_the_published_england_totals(real_data: Path, context: Context) -> None:
    workbooks = sorted((real_data / "la_funding" / "dsg_allocations").glob("*.ods"))
    assert len(workbooks) == 4

    outcomes = [ingest_path(path, None, context) for path in workbooks]

    assert [o.status for o in outcomes] == ["loaded"] * 4, [o.message for o in outcomes]
    assert [o.partitions for o in outcomes] == [({"financial_year": year},) for year in TOTAL_BEFORE_DEDUCTIONS]
    sums = ledger.query(
        context.warehouse,
        "SELECT financial_year, block, SUM(amount_gbp) AS total FROM fct_la_dsg_allocation "
        "WHERE basis = 'before_deductions' GROUP BY financial_year, block",
    )
    by_key = {(r["financial_year"], r["block"]): r["total"] for r in sums.iter_rows(named=True)}
    for year, total in TOTAL_BEFORE_DEDUCTIONS.items():
        assert by_key[(year, "total")] == total
        assert by_key[(year, "high_needs")] == HIGH_NEEDS_BEFORE_DEDUCTIONS[year]
    unknown = ledger.query(
        context.warehouse,
        "SELECT COUNT(*) AS n FROM fct_la_dsg_allocation f LEFT JOIN dim_local_authority la "
        "ON la.la_code = f.la_code WHERE la.la_code IS NULL",
    )["n"][0]
    assert unknown == 0


def test_the_csv_export_loads_the_same_cells_as_the_workbook(real_data: Path, context: Context) -> None:
    folder = real_data / "la_funding" / "dsg_allocations"
    assert ingest_path(folder / "dedicated-schools-grant_2024_07_20.ods", None, context).status == "loaded"
    from_ods = ledger.query(context.warehouse, "SELECT la_code, block, basis, amount_gbp FROM fct_la_dsg_allocation "
                            "ORDER BY la_code, block, basis")  # fmt: skip

    outcome = ingest_path(folder / "csv_export" / "dedicated-schools-grant_2024_07_20__Allocations_summary.csv", None,
                          context)  # fmt: skip

    assert outcome.status == "loaded", outcome.message
    from_csv = ledger.query(context.warehouse, "SELECT la_code, block, basis, amount_gbp FROM fct_la_dsg_allocation "
                            "ORDER BY la_code, block, basis")  # fmt: skip
    assert from_csv.equals(from_ods)
    assert count_rows(context.warehouse, "fct_la_dsg_allocation") == 151 * 10


def test_a_workbook_whose_la_rows_miss_england_is_rejected_naming_the_block(
    real_data: Path, context: Context, tmp_path: Path
) -> None:
    source = real_data / "la_funding" / "dsg_allocations" / "csv_export"
    text = (source / "dedicated-schools-grant_2024_07_20__Allocations_summary.csv").read_text(encoding="utf-8")
    broken = tmp_path / "dsg_2023_24.csv"
    broken.write_text(text.replace("202,Camden,128547100,1208692,55017590", "202,Camden,128547100,1208692,55017000"))

    outcome = ingest_path(broken, None, context)

    assert outcome.status == "rejected"
    assert "high_needs/before_deductions" in outcome.message and "-590" in outcome.message
    assert count_rows(context.warehouse, "fct_la_dsg_allocation") == 0
