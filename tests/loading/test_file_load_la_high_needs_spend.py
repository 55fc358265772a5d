"""s251 high-needs spend end to end: the real EES outturn slice, an EES budget file and a benchmarking workbook
built in their published layouts, through `ingest_path` into the warehouse (SQLite, and PostgreSQL where marked)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from sendflow.loading.file_load import Context, ingest_path
from sendflow.warehouse import ledger
from tests.conftest import SAMPLE_DIR, count_rows

OUTTURN = SAMPLE_DIR / "s251_outturn_2023-24.csv"
PHASES = ("early_years_establishments", "primary_schools", "secondary_schools", "sen_and_special_schools",
          "pupil_referral_units_and_alt_provision", "post_16")  # fmt: skip
BUDGET_HEADER = (
    "time_period", "time_identifier", "geographic_level", "country_name", "country_code", "region_name",
    "region_code", "la_name", "old_la_code", "new_la_code", "category_of_planned_expenditure", *PHASES,
    "gross_planned_expenditure", "income", "net_planned_expenditure", "net_per_capita_planned_expenditure",
)  # fmt: skip


def _raw(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


def _number(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Float64, strict=False)


def _spend(context: Context, where: str = "") -> pl.DataFrame:
    return ledger.query(
        context.warehouse, f"SELECT * FROM fct_la_high_needs_spend {where} ORDER BY la_code, kind, line_code"
    )


def _write_csv(path: Path, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> Path:
    """As EES publishes: UTF-8 with a BOM, LF line ends, quotes only where a field needs them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode("utf-8-sig"))
    return path


def _budget_row(level: str, code: str, name: str, line: str, amounts: tuple[str, ...]) -> tuple[str, ...]:
    region = ("Inner London", "E13000001") if level != "National" else ("", "")
    return ("202324", "Financial year", level, "England", "E92000001", *region, name, code,
            "E09000001" if code else "", line, *amounts)  # fmt: skip


def budget_file(path: Path) -> Path:
    """An EES s251 budget file in its published layout: national and regional rows beside the LA rows."""
    top_up = "1.2.1 Top-up funding – maintained schools"
    academies = "1.2.2 Top-up funding – academies, free schools and colleges"
    return _write_csv(
        path,
        BUDGET_HEADER,
        [
            _budget_row("National", "", "", top_up, ("1", "2", "3", "4", "5", "6", "21", "1", "20", "0")),
            _budget_row("Regional", "", "", top_up, ("1", "2", "3", "4", "5", "6", "21", "1", "20", "0")),
            _budget_row("Local authority", "201", "City of London", top_up,
                        ("0", "60000", "0", "7000", "0", "x", "67000", "", "67000", "91")),
            _budget_row("Local authority", "201", "City of London", academies,
                        ("0", "70000", "120000", "0", "0", "0", "190000", "1000", "189000", "257")),
            _budget_row("Local authority", "202", "Camden", top_up,
                        ("0", "1500000", "0", "2500000", "0", "x", "4000000", "40000", "3960000", "100")),
        ],
    )  # fmt: skip


def test_sample_outturn_loads_and_its_sums_match_the_file(context: Context) -> None:
    outcome = ingest_path(OUTTURN, None, context)

    assert outcome.status == "loaded", outcome.message
    assert outcome.partitions == ({"financial_year": "2023-24", "kind": "outturn"},)
    raw = _raw(OUTTURN)
    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined) == (120, 120, 0)
    expected = (
        raw.group_by(pl.col("category_of_expenditure").str.extract(r"^(\S+)", 1).alias("line_code"))
        .agg(_number("gross_expenditure").sum().alias("gross"), _number("net_expenditure").sum().alias("net"))
        .sort("line_code")
    )
    published = ledger.query(
        context.warehouse,
        "SELECT line_code, SUM(gross_gbp) AS gross, SUM(net_gbp) AS net FROM fct_la_high_needs_spend "
        "GROUP BY line_code ORDER BY line_code",
    )
    assert published.rows() == expected.rows()
    # Cumberland and Westmorland and Furness returned no 2023-24 figures: NULL with 'x', never 0.
    missing = count_rows(context.warehouse, "fct_la_high_needs_spend", "WHERE gross_gbp IS NULL AND gross_status = 'x'")
    assert missing == raw.filter(pl.col("gross_expenditure").is_null()).height == 40
    assert count_rows(context.warehouse, "fct_la_high_needs_spend", "WHERE post_16_status = 'x'") == (
        raw.filter(pl.col("post_16") == "x").height
    )
    unknown = ledger.query(
        context.warehouse,
        "SELECT DISTINCT s.la_code FROM fct_la_high_needs_spend s "
        "LEFT JOIN dim_local_authority la ON la.la_code = s.la_code WHERE la.la_code IS NULL",
    )
    assert unknown.is_empty()


def test_both_backends_load_the_sample_then_recognise_a_duplicate(backend_context: Context) -> None:
    loaded = ingest_path(OUTTURN, None, backend_context)
    again = ingest_path(OUTTURN, None, backend_context)

    assert (loaded.status, again.status) == ("loaded", "duplicate"), loaded.message
    assert count_rows(backend_context.warehouse, "fct_la_high_needs_spend") == _raw(OUTTURN).height
    names = ledger.query(
        backend_context.warehouse,
        "SELECT DISTINCT line_name FROM fct_la_high_needs_spend WHERE line_code = '1.2.1'",
    )
    assert names["line_name"].to_list() == ["Top-up funding – maintained schools"]
    lake = backend_context.lake.silver / "fct_la_high_needs_spend" / "financial_year=2023-24" / "kind=outturn"
    assert pl.read_parquet(lake / "*.parquet").height == _raw(OUTTURN).height


def test_an_ees_budget_file_loads_beside_the_outturn_of_the_same_year(context: Context, tmp_path: Path) -> None:
    ingest_path(OUTTURN, None, context)
    outturn_before = _spend(context, "WHERE kind = 'outturn'")

    outcome = ingest_path(budget_file(tmp_path / "s251_planned_expenditure.csv"), None, context)

    assert outcome.status == "loaded", outcome.message
    assert outcome.partitions == ({"financial_year": "2023-24", "kind": "budget"},)
    assert (outcome.rows_read, outcome.rows_loaded) == (5, 3)  # the national and regional rows are set aside
    assert _spend(context, "WHERE kind = 'outturn'").equals(outturn_before)
    budget = _spend(context, "WHERE kind = 'budget'")
    assert budget.select("la_code", "line_code", "gross_gbp", "income_gbp", "net_gbp").rows() == [
        ("201", "1.2.1", 67000.0, None, 67000.0),
        ("201", "1.2.2", 190000.0, 1000.0, 189000.0),
        ("202", "1.2.1", 4000000.0, 40000.0, 3960000.0),
    ]
    assert budget["income_status"].to_list() == ["x", None, None]
    assert budget["source_layout"].unique().to_list() == ["ees_s251_budget"]


def test_a_newer_file_replaces_its_year_and_kind_only(context: Context, tmp_path: Path) -> None:
    ingest_path(budget_file(tmp_path / "budget.csv"), None, context)
    old = ingest_path(OUTTURN, None, context)
    budget_before = _spend(context, "WHERE kind = 'budget'")
    revised = _raw(OUTTURN).filter(pl.col("old_la_code") != "201")
    revised_path = tmp_path / "s251_outturn_2023-24_revised.csv"
    revised_path.write_bytes(revised.write_csv().encode("utf-8-sig"))

    new = ingest_path(revised_path, None, context)

    assert new.status == "loaded", new.message
    outturn = _spend(context, "WHERE kind = 'outturn'")
    assert outturn.height == revised.height
    assert "201" not in outturn["la_code"].to_list()
    assert set(outturn["load_id"].to_list()) == {new.load_id}
    assert _spend(context, "WHERE kind = 'budget'").equals(budget_before)
    superseded = ledger.query(
        context.warehouse, f"SELECT superseded_by_load_id FROM etl_load WHERE load_id = {old.load_id}"
    )
    assert superseded["superseded_by_load_id"].to_list() == [new.load_id]


def test_a_row_with_an_unknown_la_is_quarantined_with_its_row_number(context: Context, tmp_path: Path) -> None:
    raw = _raw(OUTTURN)
    bad = raw.with_columns(
        pl.when(pl.int_range(pl.len()) == 4).then(pl.lit("999")).otherwise(pl.col("old_la_code")).alias("old_la_code")
    )
    path = tmp_path / "s251_outturn_2023-24.csv"
    path.write_bytes(bad.write_csv().encode("utf-8-sig"))

    outcome = ingest_path(path, None, context)

    assert outcome.status == "loaded", outcome.message
    assert outcome.rows_quarantined == 1
    held = ledger.query(context.warehouse, "SELECT * FROM etl_quarantine")
    assert held["source_row_number"].to_list() == [6]  # the header is row 1
    assert "la_code_known" in held["reasons"][0]
    record = json.loads(held["record"][0])
    assert (record["old_la_code"], record["category_of_expenditure"]) == ("999", raw["category_of_expenditure"][4])
    assert count_rows(context.warehouse, "fct_la_high_needs_spend") == raw.height - 1


# --- the DfE high-needs benchmarking sheet, built cell by cell in its published layout ---

PHASE_LABELS = ("Early Years", "Primary", "Secondary", "Special schools and academies", "PRUs and AP academies",
                "Post School")  # fmt: skip
BLOCK = (
    "Place funding", *PHASE_LABELS,
    "Top up funding (maintained schools, academies, free schools and colleges)",
    *(f"{p} (1)" for p in PHASE_LABELS), "Income (1)",
    "Top up funding (non-maintained\nand independent schools and colleges)",
    *(f"{p} (2)" for p in PHASE_LABELS), "Income (2)",
    "SEN support and inclusion services", "Alternative provision services", "Hospital education services",
    "Therapies and other health related services",
)  # fmt: skip
BUDGET_COLUMN, NEEDS_COLUMN, OUTTURN_COLUMN, PER_HEAD_COLUMN = 16, 44, 61, 93  # P, AR, BI, CO as published
DERBY_BUDGET = (9679280, 0, 652000, 425500, 8333280, 1346000, 0,
                24505713, 0, 6080990, 2420470, 10459683, 1737507, 3807063, 0,
                10388581, 0, 0, 0, 10050000, 0, 338581, 0,
                1323295, 0, 332000, 0)  # fmt: skip
DERBY_OUTTURN = (1900000, 0, 24000, 210000, 900000, 1000000, 0,
                 24514310, 230367, 4638139, 2144130, 14690608, 1395708, 1485446, 70088,
                 12587654, 0, 0, 0, 12153270, 0, 654975, 220591,
                 1142668, 0, 384890.07, 0)  # fmt: skip


def benchmarking_workbook(
    path: Path, year: str | None = "2021-22", derby_code: int = 831, more_las: tuple[int, ...] = ()
) -> Path:
    """Row 1 and column A empty; the year selector, captions and section titles; the header of category labels
    (row 4); 'Region', 'LA code', 'LA name' and block captions (row 5); phase names (row 6); a blank row;
    then LAs from row 8, with an abolished LA whose blocks are error cells, and a per-head table to the right."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    if year:  # the year selector, and a second one over the needs-factor table with the year before under it
        sheet["B2"], sheet["C2"] = "Year", year
        sheet.cell(2, NEEDS_COLUMN, "Year")
        sheet.cell(2, NEEDS_COLUMN + 1, year)
        sheet.cell(3, NEEDS_COLUMN + 1, "2020-21")
    sheet.cell(2, OUTTURN_COLUMN, "This table has values for 2016-17, 2017-18, 2018-19, 2019-20 and 2020-21 "
               "currently as data for later years is unavailable")  # fmt: skip
    for start, title in ((BUDGET_COLUMN, "Section 251 budget"), (OUTTURN_COLUMN, "Section 251 outturn")):
        sheet.cell(3, start, title)
        for offset, label in enumerate(BLOCK):
            sheet.cell(4, start + offset, label)
            sheet.cell(6, start + offset, label)
        sheet.cell(5, start, "Place funding")
        sheet.cell(5, start + 1, "of which")
    sheet.cell(4, PER_HEAD_COLUMN, "Table 3b: High needs outturn reported in section 251 and amounts per head")
    sheet.cell(5, PER_HEAD_COLUMN, "Place funding")
    for column, label in zip((2, 3, 4), ("Region", "LA code", "LA name"), strict=True):
        sheet.cell(5, column, label)
    las = (
        ("EAST MIDLANDS ", derby_code, "Derby", DERBY_BUDGET, DERBY_OUTTURN),
        # Abolished before the year: the tool's lookup fails, '#N/A' (an error cell) throughout both blocks.
        ("EAST MIDLANDS ", 928, "Northamptonshire", ("#N/A",) * len(BLOCK), ("#N/A",) * len(BLOCK)),
        ("EAST MIDLANDS ", 940, "North Northamptonshire", DERBY_BUDGET, DERBY_OUTTURN),
        *(("LONDON", code, f"LA {code}", DERBY_BUDGET, DERBY_OUTTURN) for code in more_las),
    )
    for row, (region, code, name, budget, outturn) in enumerate(las, start=8):
        sheet.cell(row, 2, region)
        sheet.cell(row, 3, code)
        sheet.cell(row, 4, name)
        sheet.cell(row, PER_HEAD_COLUMN, 0)
        for start, values in ((BUDGET_COLUMN, budget), (OUTTURN_COLUMN, outturn)):
            for offset, value in enumerate(values):
                sheet.cell(row, start + offset, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def test_benchmarking_workbook_loads_a_budget_and_an_outturn_partition(context: Context, tmp_path: Path) -> None:
    outcome = ingest_path(benchmarking_workbook(tmp_path / "Outturn data 202122.xlsx"), None, context)

    assert outcome.status == "loaded", outcome.message
    assert outcome.partitions == (
        {"financial_year": "2021-22", "kind": "budget"},
        {"financial_year": "2021-22", "kind": "outturn"},
    )
    assert (outcome.rows_loaded, outcome.rows_quarantined) == (2 * 2 * 7, 0)
    spend = _spend(context)
    assert sorted(spend["la_code"].unique()) == ["831", "940"]  # Northamptonshire's blank row is set aside
    derby = {(r["kind"], r["line_code"]): r for r in spend.filter(pl.col("la_code") == "831").iter_rows(named=True)}
    top_up = derby[("outturn", "1.2.1+1.2.2+1.2.4+1.2.11")]
    assert (top_up["gross_gbp"], top_up["income_gbp"], top_up["net_gbp"]) == (24584398.0, 70088.0, 24514310.0)
    assert derby[("budget", "hnb:1.0.2_special_ap")]["net_gbp"] == 9679280.0
    assert derby[("outturn", "1.2.6")]["net_gbp"] == pytest.approx(384890.07)
    assert derby[("outturn", "1.2.6")]["gross_status"] == "x"
    load = ledger.query(context.warehouse, "SELECT source_layout, partition_values FROM etl_load").row(0)
    assert load == ("hn_benchmarking_s251", "2021-22/budget, 2021-22/outturn")


def test_an_ees_outturn_replaces_the_workbook_outturn_and_keeps_its_budget(context: Context, tmp_path: Path) -> None:
    ingest_path(benchmarking_workbook(tmp_path / "hn.xlsx"), None, context)
    budget_before = _spend(context, "WHERE kind = 'budget'")
    outturn_2021_22 = _raw(OUTTURN).with_columns(pl.lit("202122").alias("time_period"))
    outturn_2021_22 = outturn_2021_22.filter(pl.col("old_la_code").is_in(["201", "202"]))
    path = tmp_path / "s251_outturn_2021-22.csv"
    path.write_bytes(outturn_2021_22.write_csv().encode("utf-8-sig"))

    outcome = ingest_path(path, None, context)

    assert outcome.status == "loaded", outcome.message
    outturn = _spend(context, "WHERE kind = 'outturn'")
    assert outturn.height == outturn_2021_22.height
    assert outturn["source_layout"].unique().to_list() == ["ees_s251_outturn"]
    assert _spend(context, "WHERE kind = 'budget'").equals(budget_before)


def test_a_benchmarking_workbook_that_names_no_year_is_rejected(context: Context, tmp_path: Path) -> None:
    outcome = ingest_path(benchmarking_workbook(tmp_path / "hn.xlsx", year=None), None, context)

    assert outcome.status == "rejected"
    assert "no financial year" in outcome.message
    assert count_rows(context.warehouse, "fct_la_high_needs_spend") == 0


def test_a_workbook_with_a_fifth_of_its_la_rows_bad_is_rejected(context: Context, tmp_path: Path) -> None:
    path = benchmarking_workbook(tmp_path / "hn.xlsx", derby_code=999, more_las=(201, 202, 203))

    outcome = ingest_path(path, None, context)

    assert outcome.rows_quarantined == 1  # Derby's row, 1 of the 5 LA rows with figures: above the 5% threshold
    assert outcome.status == "rejected", outcome.message
