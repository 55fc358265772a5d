"""Both real s251 high-needs files load in full, and the warehouse agrees with sums taken straight from the raw
files (the EES CSV with the csv module, the benchmarking workbook cell by cell with openpyxl)."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from openpyxl.utils import column_index_from_string

from sendflow.loading.file_load import Context, ingest_path
from sendflow.warehouse import ledger
from tests.conftest import count_rows

pytestmark = pytest.mark.realdata

FOLDER = Path("la_funding") / "s251_high_needs"
EES_OUTTURN = FOLDER / "s251_outturn_2023-24_SEN_high_needs_lines_by_LA.csv"
WORKBOOK = FOLDER / "high_needs_s251_budget_outturn_2021-22_by_LA.xlsx"
# The workbook's blocks, by where their first label sits in its header row (row 4).
BLOCK_START = {"budget": "P", "outturn": "BI"}


def _amount(text: str | None) -> float:
    return float(text) if text not in (None, "", "x") else 0.0


def _ees_sums(path: Path) -> tuple[int, set[str], dict[str, tuple[float, float]]]:
    """Rows, LA codes, and per s251 line the national sums of gross and net, read with the csv module."""
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    las: set[str] = set()
    rows = 0
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            rows += 1
            las.add(row["old_la_code"])
            line = row["category_of_expenditure"].split(" ", 1)[0]
            sums[line][0] += _amount(row["gross_expenditure"])
            sums[line][1] += _amount(row["net_expenditure"])
    return rows, las, {line: (gross, net) for line, (gross, net) in sums.items()}


def _published_sums(context: Context, kind: str, measure: str) -> dict[str, float]:
    frame = ledger.query(
        context.warehouse,
        f"SELECT line_code, SUM({measure}) AS total FROM fct_la_high_needs_spend WHERE kind = '{kind}' "
        "GROUP BY line_code",
    )
    return {code: total or 0.0 for code, total in frame.iter_rows()}


def _unresolved_las(context: Context) -> pl.DataFrame:
    return ledger.query(
        context.warehouse,
        "SELECT DISTINCT s.la_code FROM fct_la_high_needs_spend s "
        "LEFT JOIN dim_local_authority la ON la.la_code = s.la_code WHERE la.la_code IS NULL",
    )


def test_ees_outturn_2023_24_loads_every_row_and_matches_the_file(real_data: Path, context: Context) -> None:
    path = real_data / EES_OUTTURN
    rows, las, sums = _ees_sums(path)
    assert (rows, len(las), len(sums)) == (3_060, 153, 20)  # 153 LAs x 20 lines

    outcome = ingest_path(path, None, context)

    assert outcome.status == "loaded", outcome.message
    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined) == (3_060, 3_060, 0)
    assert outcome.partitions == ({"financial_year": "2023-24", "kind": "outturn"},)
    gross, net = _published_sums(context, "outturn", "gross_gbp"), _published_sums(context, "outturn", "net_gbp")
    assert set(gross) == set(sums)
    for line, (raw_gross, raw_net) in sums.items():
        assert gross[line] == pytest.approx(raw_gross, abs=0.5), line
        assert net[line] == pytest.approx(raw_net, abs=0.5), line
    assert count_rows(context.warehouse, "fct_la_high_needs_spend", "WHERE financial_year = '2023-24'") == 3_060
    assert _unresolved_las(context).is_empty()


def _workbook_sums(path: Path) -> tuple[dict[tuple[str, str], float], set[str], dict[str, set[str]]]:
    """Per (kind, category label) the sum of the category's total over the LA rows, straight from the cells;
    the LA numbers in the sheet, and per kind the LAs with any figure in that block."""
    sheet = openpyxl.load_workbook(path, data_only=True)["Sheet1"]
    grid = [list(row) for row in sheet.iter_rows(values_only=True)]
    header = grid[3]  # row 4
    sums: dict[tuple[str, str], float] = defaultdict(float)
    present: dict[str, set[str]] = defaultdict(set)
    las: set[str] = set()
    for kind, letter in BLOCK_START.items():
        start = column_index_from_string(letter) - 1
        labels = {i: " ".join(str(header[i]).split()) for i in range(start, start + 27)}
        for row in grid[7:]:  # LA rows start at row 8
            if row[2] is None:
                continue
            las.add(str(row[2]))
            # An LA that did not exist that year has '#N/A' (the tool's failed lookup) in every cell of the block.
            numbers = {i: row[i] for i in labels if isinstance(row[i], int | float)}
            if numbers:
                present[kind].add(str(row[2]))
            for i, value in numbers.items():
                sums[(kind, labels[i])] += value
    return sums, las, present


def test_benchmarking_workbook_loads_both_blocks_and_matches_the_cells(real_data: Path, context: Context) -> None:
    path = real_data / WORKBOOK
    sums, las, present = _workbook_sums(path)
    assert len(las) == 154 and len(present["budget"]) == len(present["outturn"]) == 150

    outcome = ingest_path(path, None, context)

    assert outcome.status == "loaded", outcome.message
    assert outcome.partitions == (
        {"financial_year": "2021-22", "kind": "budget"},
        {"financial_year": "2021-22", "kind": "outturn"},
    )
    assert (outcome.rows_loaded, outcome.rows_quarantined) == (150 * 7 * 2, 0)
    for kind in ("budget", "outturn"):
        net = _published_sums(context, kind, "net_gbp")
        income = _published_sums(context, kind, "income_gbp")
        assert net["hnb:1.0.2_special_ap"] == pytest.approx(sums[(kind, "Place funding")], abs=1)
        top_up = "Top up funding (maintained schools, academies, free schools and colleges)"
        assert net["1.2.1+1.2.2+1.2.4+1.2.11"] == pytest.approx(sums[(kind, top_up)], abs=1)
        assert income["1.2.1+1.2.2+1.2.4+1.2.11"] == pytest.approx(sums[(kind, "Income (1)")], abs=1)
        top_up_nm = "Top up funding (non-maintained and independent schools and colleges)"
        assert net["1.2.3"] == pytest.approx(sums[(kind, top_up_nm)], abs=1)
        assert income["1.2.3"] == pytest.approx(sums[(kind, "Income (2)")], abs=1)
        assert net["1.2.5+1.2.8+1.2.9"] == pytest.approx(sums[(kind, "SEN support and inclusion services")], abs=1)
        assert net["1.2.7"] == pytest.approx(sums[(kind, "Alternative provision services")], abs=1)
        assert net["1.2.6"] == pytest.approx(sums[(kind, "Hospital education services")], abs=1)
        assert net["1.2.13"] == pytest.approx(sums[(kind, "Therapies and other health related services")], abs=1)
        loaded = ledger.query(
            context.warehouse, f"SELECT DISTINCT la_code FROM fct_la_high_needs_spend WHERE kind = '{kind}'"
        )
        assert set(loaded["la_code"]) == present[kind]
    assert _unresolved_las(context).is_empty()


def test_the_workbook_year_rule_agrees_with_the_reorganisations(real_data: Path, context: Context) -> None:
    """The evidence for dating the outturn block 2021-22, not 2020-21 as its caption suggests."""
    outcome = ingest_path(real_data / WORKBOOK, None, context)
    assert outcome.status == "loaded", outcome.message

    by_la = ledger.query(
        context.warehouse,
        "SELECT la_code, kind, financial_year, COUNT(*) AS n FROM fct_la_high_needs_spend "
        "WHERE la_code IN ('928', '940', '941', '909') GROUP BY la_code, kind, financial_year ORDER BY la_code, kind",
    )
    # North and West Northamptonshire (from 1 April 2021) have outturn; Northamptonshire (until then) has none.
    assert by_la.rows() == [
        ("909", "budget", "2021-22", 7),
        ("909", "outturn", "2021-22", 7),
        ("940", "budget", "2021-22", 7),
        ("940", "outturn", "2021-22", 7),
        ("941", "budget", "2021-22", 7),
        ("941", "outturn", "2021-22", 7),
    ]
    # None of the 2,100 rows broke the suite's check that the LA existed in the year it was given.
    assert outcome.rows_quarantined == 0


def test_the_workbook_arithmetic_the_mapping_relies_on(real_data: Path, context: Context) -> None:
    assert ingest_path(real_data / WORKBOOK, None, context).status == "loaded"

    place = ledger.query(
        context.warehouse,
        "SELECT COUNT(*) AS n, SUM(CASE WHEN ABS(net_gbp - special_schools_gbp - pru_and_ap_gbp) > 0.01 "
        "THEN 1 ELSE 0 END) AS off FROM fct_la_high_needs_spend WHERE line_code = 'hnb:1.0.2_special_ap'",
    ).row(0)
    assert place == (300, 0)  # the place funding total is its special-school and AP/PRU columns, every row
    top_ups = ledger.query(
        context.warehouse,
        "SELECT COUNT(*) AS n, SUM(CASE WHEN income_gbp > 0 THEN 1 ELSE 0 END) AS with_income "
        "FROM fct_la_high_needs_spend WHERE line_code IN ('1.2.1+1.2.2+1.2.4+1.2.11', '1.2.3') "
        "AND ABS(gross_gbp - income_gbp - net_gbp) <= 1",
    ).row(0)
    assert top_ups == (600, 148)  # every top-up total is its phases less its income, and income is often there


def test_workbook_rows_are_numbered_as_the_sheet_numbers_them(real_data: Path, context: Context) -> None:
    assert ingest_path(real_data / WORKBOOK, None, context).status == "loaded"
    derby = ledger.query(
        context.warehouse, "SELECT DISTINCT source_row_number FROM fct_la_high_needs_spend WHERE la_code = '831'"
    )
    assert derby["source_row_number"].to_list() == [8]  # Derby is on row 8 of Sheet1
