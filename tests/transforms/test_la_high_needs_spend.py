"""fct_la_high_needs_spend from the EES s251 outturn and budget files and the high-needs benchmarking sheet."""

from __future__ import annotations

import polars as pl
import pytest

from sendflow.transforms.common import SOURCE_ROW, SourceError, SourceInfo
from sendflow.transforms.la_high_needs_spend import (
    BENCHMARKING,
    COLUMNS,
    EES_BUDGET,
    EES_OUTTURN,
    SHEET_LINES,
    benchmarking_kinds,
    benchmarking_years,
    build,
    fct_la_high_needs_spend,
)

PHASE_COLUMNS = (
    "early_years_establishments",
    "primary_schools",
    "secondary_schools",
    "sen_and_special_schools",
    "pupil_referral_units_and_alt_provision",
    "post_16",
)
# The real file's title rows, as the intake hands them over (row by row, blanks left out).
REAL_PREAMBLE = (
    "Year",
    "2021-22",
    "Year",
    "2021-22",
    "This table has values for 2016-17, 2017-18, 2018-19, 2019-20 and 2020-21 currently as data for later "
    "years is unavailable",
    "Section 251 budget",
    "2020-21",
    "Section 251 outturn",
)


def raw(columns: dict[str, list[str | None]], first_row: int = 2) -> pl.DataFrame:
    """A frame as the intake reads it: text columns plus the source row number."""
    frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))
    return frame.with_row_index(SOURCE_ROW, offset=first_row).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


def ees_rows(category: str, gross: str, net: str, rows: list[tuple[str, ...]]) -> pl.DataFrame:
    """EES rows: (time_period, geographic_level, old_la_code, line, six phases..., gross, income, net)."""
    names = ("time_period", "geographic_level", "old_la_code", category, *PHASE_COLUMNS, gross, "income", net)
    return raw({name: [row[i] for row in rows] for i, name in enumerate(names)})


def ees(layout: str) -> SourceInfo:
    return SourceInfo(layout=layout, source_name="s251.csv")


def outturn_2023_24() -> pl.DataFrame:
    # Real rows of the 2023-24 outturn (City of London, Cumberland), plus national and regional rows.
    return ees_rows(
        "category_of_expenditure",
        "gross_expenditure",
        "net_expenditure",
        [
            ("202324", "Local authority", "201", "1.0.2 High needs place funding within Individual Schools Budget",
             "0", "0", "0", "0", "0", "x", "0", "", "0"),
            ("202324", "Local authority", "201", "1.2.1 Top-up funding – maintained schools",
             "0", "65833", "0", "6834", "0", "x", "72667", "0", "72667"),
            ("202324", "Local authority", "201", "1.2.2 Top-up funding – academies, free schools and colleges",
             "0", "73313", "124528", "0", "0", "0", "197841", "0", "197841"),
            ("202324", "Local authority", "942", "1.2.10 PFI/ BSF costs at special schools, AP/ PRUs and Post 16 "
             "institutions only", "x", "x", "x", "x", "x", "x", "", "", ""),
            ("202324", "National", "", "1.2.1 Top-up funding – maintained schools",
             "1", "2", "3", "4", "5", "6", "21", "1", "20"),
            ("202324", "Regional", "", "1.2.1 Top-up funding – maintained schools",
             "1", "2", "3", "4", "5", "6", "21", "1", "20"),
        ],
    )  # fmt: skip


def test_ees_outturn_output_has_the_contract_columns_in_order() -> None:
    fact = fct_la_high_needs_spend(outturn_2023_24(), ees(EES_OUTTURN.name))
    assert tuple(fact.columns) == COLUMNS
    assert fact.schema["gross_gbp"] == pl.Float64 and fact.schema["post_16_gbp"] == pl.Float64


def test_ees_outturn_keys_line_codes_and_names() -> None:
    fact = fct_la_high_needs_spend(outturn_2023_24(), ees(EES_OUTTURN.name))
    assert fact["la_code"].to_list() == ["201", "201", "201", "942"]
    assert fact["financial_year"].unique().to_list() == ["2023-24"]
    assert fact["kind"].unique().to_list() == ["outturn"]
    assert fact["line_code"].to_list() == ["1.0.2", "1.2.1", "1.2.2", "1.2.10"]
    assert fact["line_name"][1] == "Top-up funding – maintained schools"  # the en dash stays
    assert fact["line_name"][2] == "Top-up funding – academies, free schools and colleges"
    assert fact[SOURCE_ROW].to_list() == [2, 3, 4, 5]
    assert fact["source_layout"].unique().to_list() == [EES_OUTTURN.name]


def test_ees_national_and_regional_rows_are_set_aside() -> None:
    fact = fct_la_high_needs_spend(outturn_2023_24(), ees(EES_OUTTURN.name))
    assert 6 not in fact[SOURCE_ROW].to_list() and 7 not in fact[SOURCE_ROW].to_list()
    assert fact["la_code"].null_count() == 0


def test_ees_amounts_and_symbols() -> None:
    fact = fct_la_high_needs_spend(outturn_2023_24(), ees(EES_OUTTURN.name))
    assert fact["gross_gbp"].to_list() == [0.0, 72667.0, 197841.0, None]
    assert fact["net_gbp"].to_list() == [0.0, 72667.0, 197841.0, None]
    assert fact["primary_gbp"].to_list() == [0.0, 65833.0, 73313.0, None]
    # Place funding has no income: published empty, stored NULL with 'x'.
    assert fact["income_gbp"].to_list() == [None, 0.0, 0.0, None]
    assert fact["income_status"].to_list() == ["x", None, None, "x"]
    assert fact["post_16_gbp"].to_list() == [None, None, 0.0, None]
    assert fact["post_16_status"].to_list() == ["x", "x", None, "x"]
    # Cumberland returned nothing for 2023-24: every figure NULL, every status 'x'.
    cumberland = fact.row(3, named=True)
    assert all(cumberland[f"{m}_status"] == "x" for m in ("gross", "income", "net", "early_years"))


def test_ees_junk_is_marked_invalid_not_dropped() -> None:
    frame = outturn_2023_24().with_columns(
        pl.when(pl.col(SOURCE_ROW) == 3)
        .then(pl.lit("12k"))
        .otherwise(pl.col("gross_expenditure"))
        .alias("gross_expenditure")
    )
    fact = fct_la_high_needs_spend(frame, ees(EES_OUTTURN.name))
    assert fact["gross_gbp"][1] is None
    assert fact["gross_status"][1] == "invalid:12k"


def test_ees_malformed_time_period_and_uncoded_line_stay_null() -> None:
    frame = outturn_2023_24().with_columns(
        pl.when(pl.col(SOURCE_ROW) == 2).then(pl.lit("202325")).otherwise(pl.col("time_period")).alias("time_period"),
        pl.when(pl.col(SOURCE_ROW) == 3)
        .then(pl.lit("Total high needs"))
        .otherwise(pl.col("category_of_expenditure"))
        .alias("category_of_expenditure"),
    )
    fact = fct_la_high_needs_spend(frame, ees(EES_OUTTURN.name))
    assert fact["financial_year"].to_list()[:2] == [None, "2023-24"]
    assert fact["line_code"][1] is None
    assert fact["line_name"][1] == "Total high needs"


def test_ees_budget_shape_is_kind_budget() -> None:
    frame = ees_rows(
        "category_of_planned_expenditure",
        "gross_planned_expenditure",
        "net_planned_expenditure",
        [("202425", "Local authority", "202", "1.2.6 Hospital education services", "0", "100", "50", "0", "0", "x",
          "150", "10", "140")],
    )  # fmt: skip
    fact = fct_la_high_needs_spend(frame, ees(EES_BUDGET.name))
    row = fact.row(0, named=True)
    assert (row["financial_year"], row["kind"], row["line_code"]) == ("2024-25", "budget", "1.2.6")
    assert (row["gross_gbp"], row["income_gbp"], row["net_gbp"]) == (150.0, 10.0, 140.0)
    assert row["source_layout"] == EES_BUDGET.name


def test_year_rule_both_blocks_take_the_year_beside_the_first_year_label() -> None:
    # The outturn caption lists years up to 2020-21 and a '2020-21' heads another table: neither counts.
    assert benchmarking_years(REAL_PREAMBLE) == {"budget": "2021-22", "outturn": "2021-22"}


def test_year_rule_skips_a_year_label_without_a_year() -> None:
    assert benchmarking_years(("Year", "(select)", "Year", "2022 to 2023")) == {
        "budget": "2022-23",
        "outturn": "2022-23",
    }


def test_year_rule_refuses_a_sheet_that_names_no_year() -> None:
    with pytest.raises(SourceError, match="name no financial year"):
        benchmarking_years(("Section 251 budget", "data for 2020-21", "Section 251 outturn"))


def test_block_kinds_follow_the_section_titles_left_to_right() -> None:
    assert benchmarking_kinds(REAL_PREAMBLE) == ["budget", "outturn"]
    assert benchmarking_kinds(("Year", "2021-22", "Section 251 outturn ")) == ["outturn"]


# --- the benchmarking sheet, as the intake hands it over: the header is the row of category labels ---

PHASE_LABELS = ("Early Years", "Primary", "Secondary", "Special schools and academies", "PRUs and AP academies",
                "Post School")  # fmt: skip
TOP_UP_NM = "Top up funding (non-maintained\nand independent schools and colleges)"  # a line break, as published
BLOCK = (
    "Place funding", *PHASE_LABELS,
    "Top up funding (maintained schools, academies, free schools and colleges)",
    *(f"{p} (1)" for p in PHASE_LABELS), "Income (1)",
    TOP_UP_NM, *(f"{p} (2)" for p in PHASE_LABELS), "Income (2)",
    "SEN support and inclusion services", "Alternative provision services", "Hospital education services",
    "Therapies and other health related services",
)  # fmt: skip
SHEET_HEADER = ("column_1", "column_2", "column_3", *BLOCK, *(f"{label} [2]" for label in BLOCK))
SHEET_PREAMBLE = ("Year", "2021-22", "Section 251 budget", "Section 251 outturn")


def block_values(
    place: tuple[str, ...], top_up: tuple[str, ...], top_up_nm: tuple[str, ...], services: tuple[str, ...]
) -> tuple[str, ...]:
    """27 cells of one block: place (total + 6 phases), two top-ups (total + 6 phases + income), 4 services."""
    cells = (*place, *top_up, *top_up_nm, *services)
    assert len(cells) == len(BLOCK)
    return cells


BUDGET = block_values(
    ("300", "10", "20", "30", "200", "100", "40"),
    ("900", "0", "400", "300", "150", "50", "50", "50"),  # phases sum to 950, income 50, net 900
    ("250", "0", "0", "0", "250", "0", "0", "0"),
    ("60", "0", "5.5", "7"),
)
OUTTURN = block_values(
    ("320", "0", "0", "0", "300", "20", "0"),
    ("1000", "0", "500", "300", "200", "0", "0", "0"),
    ("275", "0", "0", "0", "260", "0", "40", "25"),
    ("70", "1", "6", "0"),
)
BLANK = ("",) * len(BLOCK)


def sheet(rows: list[tuple[str, ...]]) -> pl.DataFrame:
    """The label row and the phase-name row under the header, a blank row, then one row per LA."""
    label_row = ("Region", "LA code", "LA name", *(None,) * (2 * len(BLOCK)))
    names_row = (None, None, None, *BLOCK, *BLOCK)
    blank_row = (None,) * len(SHEET_HEADER)
    every = [label_row, names_row, blank_row, *rows]
    return raw({name: [row[i] for row in every] for i, name in enumerate(SHEET_HEADER)}, first_row=5)


def la_row(code: str, name: str, budget: tuple[str, ...], outturn: tuple[str, ...]) -> tuple[str, ...]:
    return ("EAST MIDLANDS ", code, name, *budget, *outturn)


def benchmarking(preamble: tuple[str, ...] = SHEET_PREAMBLE) -> SourceInfo:
    return SourceInfo(layout=BENCHMARKING.name, source_name="hn.xlsx", preamble=preamble)


def sheet_fact(*rows: tuple[str, ...], preamble: tuple[str, ...] = SHEET_PREAMBLE) -> pl.DataFrame:
    return fct_la_high_needs_spend(sheet(list(rows)), benchmarking(preamble))


def line(fact: pl.DataFrame, la_code: str, kind: str, line_code: str) -> dict:
    rows = fact.filter((pl.col("la_code") == la_code) & (pl.col("kind") == kind) & (pl.col("line_code") == line_code))
    assert rows.height == 1
    return rows.row(0, named=True)


def test_sheet_gives_every_line_for_both_kinds_with_the_sheet_year() -> None:
    fact = sheet_fact(la_row("831", "Derby", BUDGET, OUTTURN))
    assert tuple(fact.columns) == COLUMNS
    assert fact.height == 2 * len(SHEET_LINES)
    assert sorted(fact["kind"].unique()) == ["budget", "outturn"]
    assert fact["financial_year"].unique().to_list() == ["2021-22"]
    assert set(fact["line_code"]) == {sl.line_code for sl in SHEET_LINES}
    assert fact[SOURCE_ROW].unique().to_list() == [8]  # the header is row 4; labels 5, phases 6, blank 7
    assert fact["source_layout"].unique().to_list() == [BENCHMARKING.name]


def test_sheet_top_up_gross_is_its_phases_and_net_is_the_published_total() -> None:
    fact = sheet_fact(la_row("831", "Derby", BUDGET, OUTTURN))
    budget = line(fact, "831", "budget", "1.2.1+1.2.2+1.2.4+1.2.11")
    assert (budget["gross_gbp"], budget["income_gbp"], budget["net_gbp"]) == (950.0, 50.0, 900.0)
    assert budget["primary_gbp"] == 400.0 and budget["post_16_gbp"] == 50.0
    non_maintained = line(fact, "831", "outturn", "1.2.3")
    assert (non_maintained["gross_gbp"], non_maintained["income_gbp"], non_maintained["net_gbp"]) == (
        300.0,
        25.0,
        275.0,
    )
    assert non_maintained["gross_status"] is None


def test_sheet_place_funding_is_a_prefixed_part_of_line_1_0_2() -> None:
    fact = sheet_fact(la_row("831", "Derby", BUDGET, OUTTURN))
    place = line(fact, "831", "budget", "hnb:1.0.2_special_ap")
    # The total (special + AP/PRU) is gross and net; the other phases are kept but are not in it.
    assert (place["gross_gbp"], place["net_gbp"]) == (300.0, 300.0)
    assert (place["income_gbp"], place["income_status"]) == (None, "x")
    assert (place["special_schools_gbp"], place["pru_and_ap_gbp"], place["primary_gbp"]) == (200.0, 100.0, 20.0)


def test_sheet_service_lines_publish_net_only() -> None:
    fact = sheet_fact(la_row("831", "Derby", BUDGET, OUTTURN))
    sen = line(fact, "831", "budget", "1.2.5+1.2.8+1.2.9")
    assert sen["net_gbp"] == 60.0
    assert (sen["gross_gbp"], sen["gross_status"], sen["income_status"], sen["primary_status"]) == (None, "x", "x", "x")
    assert line(fact, "831", "budget", "1.2.6")["net_gbp"] == 5.5
    assert line(fact, "831", "outturn", "1.2.13")["net_gbp"] == 0.0
    assert line(fact, "831", "outturn", "1.2.7")["net_gbp"] == 1.0


def test_sheet_las_blank_in_a_block_have_no_rows_of_that_kind() -> None:
    fact = sheet_fact(
        la_row("928", "Northamptonshire", BLANK, BLANK),  # abolished: no figures at all
        la_row("940", "North Northamptonshire", BUDGET, OUTTURN),
        la_row("999", "Budget only", BUDGET, BLANK),
    )
    assert "928" not in fact["la_code"].to_list()
    assert fact.filter(pl.col("la_code") == "940").height == 2 * len(SHEET_LINES)
    assert fact.filter(pl.col("la_code") == "999")["kind"].unique().to_list() == ["budget"]


def test_sheet_blank_phase_leaves_gross_null_with_the_phase_status() -> None:
    budget = list(BUDGET)
    budget[BLOCK.index("Primary (1)")] = ""
    fact = sheet_fact(la_row("831", "Derby", tuple(budget), OUTTURN))
    top_up = line(fact, "831", "budget", "1.2.1+1.2.2+1.2.4+1.2.11")
    assert (top_up["primary_gbp"], top_up["primary_status"]) == (None, "x")
    assert (top_up["gross_gbp"], top_up["gross_status"], top_up["net_gbp"]) == (None, "x", 900.0)


def test_sheet_row_with_figures_but_no_la_code_is_kept_for_validation() -> None:
    fact = sheet_fact(la_row("831", "Derby", BUDGET, OUTTURN), la_row("", "Somewhere", BUDGET, BLANK))
    assert fact["la_code"].null_count() == len(SHEET_LINES)


def test_sheet_without_a_year_is_refused() -> None:
    with pytest.raises(SourceError, match="name no financial year"):
        sheet_fact(la_row("831", "Derby", BUDGET, OUTTURN), preamble=("Section 251 budget", "Section 251 outturn"))


def test_sheet_whose_blocks_and_titles_disagree_is_refused() -> None:
    with pytest.raises(SourceError, match="2 block"):
        sheet_fact(la_row("831", "Derby", BUDGET, OUTTURN), preamble=("Year", "2021-22", "Section 251 budget"))


def test_sheet_without_an_la_code_label_is_refused() -> None:
    frame = sheet([la_row("831", "Derby", BUDGET, OUTTURN)]).with_columns(pl.col("column_2").replace("LA code", "?"))
    with pytest.raises(SourceError, match="LA code"):
        fct_la_high_needs_spend(frame, benchmarking())


def test_build_returns_the_fact_table_only() -> None:
    built = build(outturn_2023_24(), ees(EES_OUTTURN.name))
    assert list(built) == ["fct_la_high_needs_spend"]


def test_unknown_layout_raises() -> None:
    with pytest.raises(ValueError, match="no layout"):
        fct_la_high_needs_spend(outturn_2023_24(), SourceInfo(layout="nonsense", source_name="x.csv"))


def test_ees_impossible_amounts_are_invalid_and_a_foreign_line_code_is_no_code() -> None:
    frame = outturn_2023_24().with_columns(
        pl.when(pl.col(SOURCE_ROW) == 3)
        .then(pl.lit("1e400"))
        .otherwise(pl.col("gross_expenditure"))
        .alias("gross_expenditure"),
        pl.when(pl.col(SOURCE_ROW) == 4)
        .then(pl.lit("١.٢.٢ Top-up funding"))
        .otherwise(pl.col("category_of_expenditure"))
        .alias("category_of_expenditure"),
    )
    fact = fct_la_high_needs_spend(frame, ees(EES_OUTTURN.name))
    assert fact["gross_gbp"][1] is None and fact["gross_status"][1] == "invalid:1e400"
    assert fact["line_code"][2] is None  # the suite's line_code_present then names the row


def test_sheet_an_impossible_phase_amount_leaves_gross_null_with_its_invalid_status() -> None:
    budget = list(BUDGET)
    budget[8] = "inf"  # the first top-up's early years phase
    fact = sheet_fact(la_row("831", "Derby", tuple(budget), OUTTURN))
    top_up = line(fact, "831", "budget", "1.2.1+1.2.2+1.2.4+1.2.11")
    assert top_up["early_years_gbp"] is None and top_up["early_years_status"] == "invalid:inf"
    assert top_up["gross_gbp"] is None and top_up["gross_status"] == "invalid:inf"
