"""DSG allocations summary: title year, the two column groups, LA rows as facts, ENGLAND as controls."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
import pytest

from sendflow.transforms.common import CONTROLS, SOURCE_ROW, SourceError, SourceInfo
from sendflow.transforms.dsg_allocation import block_columns, build, financial_year_from_title

HEADER = [
    "column_1", "column_2", "Schools block (£s)", "Central school services block (£s)", "High needs block (£s)",
    "Early years block (£s)", "Total DSG allocation (£s)", "Schools block (£s) [2]",
    "Central school services block allocation (£s)", "High needs block allocation (£s)", "Early years block (£s) [2]",
    "Total DSG allocation (£s) [2]",
]  # fmt: skip
TITLE = (
    "Dedicated schools grant: 2023 to 2024 allocations local authority summary",
    "2023 to 2024 DSG allocations, before recoupment and deductions ...",
    "2023 to 2024 DSG allocations, after deductions for academies recoupment ...",
)


def sheet(*rows: Sequence[str | None]) -> pl.DataFrame:
    frame = pl.DataFrame([list(r) for r in rows], schema=dict.fromkeys(HEADER, pl.String), orient="row")
    return frame.with_row_index(SOURCE_ROW, offset=3).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


LETTERS = [" ", " ", "[A]", "[B]", "[C]", "[D]", "[E]", "[F]", "[G]", "[H]", "[I]", "[J]"]
FORMULAS = [" ", " ", " ", " ", " ", " ", " = [A] + [B] + [C] + [D]", " ", " ", " ", " ", " = [F] + [G] + [H] + [I]"]
ENGLAND = ["ENGLAND", None, "300", "30", "120", "60", "510", "100", "30", "110", "60", "300"]
CAMDEN = ["202", "Camden", "100", "10", "40", "20", "170", "40", "10", "35", "20", "105"]
HACKNEY = ["204", "Hackney", "200", "20", "80", "40", "340", "60", "20", "75", "40", "195"]
LONDON = ["LONDON", None, "300", "30", "120", "60", "510", "100", "30", "110", "60", "300"]


def test_financial_year_comes_from_the_title() -> None:
    assert financial_year_from_title(TITLE) == "2023-24"
    assert financial_year_from_title(("Dedicated schools grant: 2020 to 2021 allocations",)) == "2020-21"


def test_a_title_without_a_year_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="financial year"):
        financial_year_from_title(("Allocations summary",))


def test_block_labels_map_to_blocks_in_two_bases() -> None:
    mapping = block_columns(HEADER)

    assert mapping["High needs block (£s)"] == ("high_needs", "before_deductions")
    assert mapping["High needs block allocation (£s)"] == ("high_needs", "after_deductions")
    assert mapping["Schools block (£s) [2]"] == ("schools", "after_deductions")
    assert mapping["Total DSG allocation (£s) [2]"] == ("total", "after_deductions")
    assert len(mapping) == 10


def test_a_sheet_without_the_second_group_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="after_deductions"):
        block_columns(HEADER[:7])


def test_la_rows_become_facts_and_england_the_controls() -> None:
    built = build(sheet(LETTERS, FORMULAS, ENGLAND, CAMDEN, HACKNEY, LONDON), SourceInfo("x", "x.ods", preamble=TITLE))
    facts, controls = built["fct_la_dsg_allocation"], built[CONTROLS]

    assert facts.height == 2 * 10
    assert set(facts["la_code"]) == {"202", "204"}
    camden_hnb = facts.filter((pl.col("la_code") == "202") & (pl.col("block") == "high_needs"))
    assert dict(zip(camden_hnb["basis"], camden_hnb["amount_gbp"], strict=True)) == {
        "before_deductions": 40.0,
        "after_deductions": 35.0,
    }
    assert facts["financial_year"].unique().to_list() == ["2023-24"]
    assert facts.filter(pl.col("la_code") == "202")[SOURCE_ROW].unique().to_list() == [6]
    assert controls.height == 10
    assert controls.filter((pl.col("block") == "total") & (pl.col("basis") == "before_deductions"))[
        "amount_gbp"
    ].item() == pytest.approx(510.0)


def test_a_sheet_without_an_england_row_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="ENGLAND"):
        build(sheet(CAMDEN, HACKNEY), SourceInfo("x", "x.ods", preamble=TITLE))


def test_symbols_become_null_with_status() -> None:
    suppressed = [*CAMDEN[:4], "x", *CAMDEN[5:]]
    facts = build(sheet(ENGLAND, suppressed), SourceInfo("x", "x.ods", preamble=TITLE))["fct_la_dsg_allocation"]

    row = facts.filter((pl.col("block") == "high_needs") & (pl.col("basis") == "before_deductions"))
    assert row["amount_gbp"].item() is None and row["amount_status"].item() == "x"


def test_an_la_numbered_in_another_script_stays_a_fact_for_the_suite_to_name() -> None:
    # Dropping it would leave the LA rows short of ENGLAND with no row to say why.
    arabic = ["٢٠٢", *CAMDEN[1:]]
    facts = build(sheet(ENGLAND, arabic, HACKNEY), SourceInfo("x", "x.ods", preamble=TITLE))["fct_la_dsg_allocation"]
    assert set(facts["la_code"]) == {"٢٠٢", "204"}


@pytest.mark.parametrize("amount", ["inf", "1e400", "99999999999999999999999", "１００"])
def test_impossible_amounts_are_invalid_on_their_row(amount: str) -> None:
    row = [*CAMDEN[:4], amount, *CAMDEN[5:]]
    facts = build(sheet(ENGLAND, row), SourceInfo("x", "x.ods", preamble=TITLE))["fct_la_dsg_allocation"]

    cell = facts.filter((pl.col("block") == "high_needs") & (pl.col("basis") == "before_deductions"))
    assert cell["amount_gbp"].item() is None and cell["amount_status"].item() == f"invalid:{amount}"
