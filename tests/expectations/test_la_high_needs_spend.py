"""The fct_la_high_needs_spend suite, run on frames made by the real transform from tiny raw EES files."""

from __future__ import annotations

import polars as pl
import pytest

from sendflow.expectations.la_high_needs_spend import SUITE
from sendflow.expectations.runner import Validation, validate
from sendflow.transforms.common import SOURCE_ROW, SourceInfo
from sendflow.transforms.la_high_needs_spend import EES_OUTTURN, fct_la_high_needs_spend

HEADER = (
    "time_period", "geographic_level", "old_la_code", "category_of_expenditure",
    "early_years_establishments", "primary_schools", "secondary_schools", "sen_and_special_schools",
    "pupil_referral_units_and_alt_provision", "post_16", "gross_expenditure", "income", "net_expenditure",
)  # fmt: skip
# Real rows of the 2023-24 outturn (City of London).
PLACE = ("202324", "Local authority", "201", "1.0.2 High needs place funding within Individual Schools Budget",
         "0", "0", "0", "0", "0", "x", "0", "", "0")  # fmt: skip
TOP_UP = ("202324", "Local authority", "201", "1.2.1 Top-up funding – maintained schools",
          "0", "65833", "0", "6834", "0", "x", "72667", "0", "72667")  # fmt: skip


def raw_outturn(*rows: tuple[str | None, ...]) -> pl.DataFrame:
    frame = pl.DataFrame(
        [dict(zip(HEADER, row, strict=True)) for row in rows] or None, schema=dict.fromkeys(HEADER, pl.String)
    )
    return frame.with_row_index(SOURCE_ROW, offset=2).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


def check(*rows: tuple[str | None, ...]) -> Validation:
    fact = fct_la_high_needs_spend(raw_outturn(*rows), SourceInfo(layout=EES_OUTTURN.name, source_name="s251.csv"))
    return validate(fact, SUITE)


def with_(row: tuple[str | None, ...], **changes: str) -> tuple[str | None, ...]:
    return tuple(changes.get(column, value) for column, value in zip(HEADER, row, strict=True))


def failed_checks(result: Validation) -> set[str]:
    return {reason.split(" (")[0] for reasons in result.quarantine["reasons"] for reason in reasons.split("; ")}


def test_suite_states_its_grain() -> None:
    assert "per financial year" in SUITE.grain and "per kind" in SUITE.grain


def test_clean_rows_pass_including_missing_income_and_suppressed_phases() -> None:
    result = check(PLACE, TOP_UP, with_(TOP_UP, old_la_code="942", gross_expenditure="", net_expenditure=""))
    assert result.quarantine.is_empty()
    assert result.table_failures == []
    assert result.valid[SOURCE_ROW].to_list() == [2, 3, 4]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"old_la_code": "999"}, "la_code_known"),
        ({"old_la_code": "2010"}, "la_code_is_three_digits"),
        ({"old_la_code": ""}, "la_code_present"),
        ({"time_period": "2023"}, "financial_year_present"),
        ({"category_of_expenditure": "Total high needs"}, "line_code_present"),
        ({"category_of_expenditure": "1.2 Top-up funding"}, "line_code_format"),
        ({"net_expenditure": "72669"}, "net_is_gross_less_income"),
        ({"gross_expenditure": "n/k"}, "gross_is_number_or_symbol"),
        ({"income": "?"}, "income_is_number_or_symbol"),
        ({"primary_schools": "-"}, "primary_is_number_or_symbol"),
        # Northamptonshire's successors did not exist in 2020-21: a block dated a year early shows up here.
        ({"old_la_code": "940", "time_period": "202021"}, "la_existed_in_year"),
        # Northamptonshire itself was abolished on 1 April 2021.
        ({"old_la_code": "928", "time_period": "202122"}, "la_existed_in_year"),
    ],
)
def test_a_bad_value_quarantines_its_row_naming_the_check(changes: dict[str, str], expected: str) -> None:
    result = check(PLACE, with_(TOP_UP, **changes))
    assert result.quarantine[SOURCE_ROW].to_list() == [3]
    assert expected in failed_checks(result)
    assert result.valid[SOURCE_ROW].to_list() == [2]


def test_net_within_a_pound_of_gross_less_income_passes() -> None:
    rounded = with_(TOP_UP, gross_expenditure="72667.4", income="0.2", net_expenditure="72666.6")
    assert check(rounded).quarantine.is_empty()


@pytest.mark.parametrize(("la_code", "time_period"), [("928", "202021"), ("909", "202223"), ("942", "202324")])
def test_las_in_the_years_they_existed_pass(la_code: str, time_period: str) -> None:
    assert check(with_(TOP_UP, old_la_code=la_code, time_period=time_period)).quarantine.is_empty()


def test_the_same_line_twice_for_an_la_and_year_is_not_unique() -> None:
    result = check(TOP_UP, TOP_UP)
    assert "unique_per_la_year_kind_line" in failed_checks(result)
    assert result.valid.is_empty()


def test_kind_and_prefixed_codes_are_checked() -> None:
    fact = fct_la_high_needs_spend(raw_outturn(PLACE, TOP_UP), SourceInfo(layout=EES_OUTTURN.name, source_name="x"))
    fact = fact.with_columns(
        pl.Series("kind", ["outturn", "forecast"]), pl.Series("line_code", ["hnb:1.0.2_special_ap", "1.2.1+1.2.2"])
    )
    result = validate(fact, SUITE)
    assert result.quarantine[SOURCE_ROW].to_list() == [3]
    assert failed_checks(result) == {"kind_is_budget_or_outturn"}


def test_an_empty_file_fails_the_table_check() -> None:
    result = check()
    assert result.table_failures and "file_has_la_rows" in result.table_failures[0]


def test_codes_and_amounts_in_other_scripts_are_quarantined_by_name() -> None:
    rows = (PLACE, with_(TOP_UP, old_la_code="٢٠١"), with_(PLACE, old_la_code="202", gross_expenditure="٠"))
    fact = fct_la_high_needs_spend(raw_outturn(*rows), SourceInfo(layout=EES_OUTTURN.name, source_name="s251.csv"))
    result = validate(fact, SUITE, engine="polars")

    reasons = dict(zip(result.quarantine[SOURCE_ROW], result.quarantine["reasons"], strict=True))
    assert set(reasons) == {3, 4}
    assert "la_code_is_three_digits (la_code='٢٠١')" in reasons[3]
    assert "gross_is_number_or_symbol (gross_status='invalid:٠')" in reasons[4]
