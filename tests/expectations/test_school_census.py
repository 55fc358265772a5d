"""The fct_school_census suite, run on frames made by the real transform from tiny raw files."""

from __future__ import annotations

import json

import polars as pl
import pytest

from sendflow.expectations.runner import Validation, validate
from sendflow.expectations.school_census import SUITE
from sendflow.transforms.common import SOURCE_ROW, SourceInfo
from sendflow.transforms.school_census import PERF_TABLES, SEN_UNDERLYING, fct_school_census

HEADER = ("URN", "LA", "ESTAB", "SCHOOLTYPE", "NOR", "TSENELSE", "PSENELSE", "TSENELK", "PSENELK")
# 10 of 200 pupils have an EHC plan (5%), 30 have SEN support (15%).
CLEAN = ("100000", "201", "3614", "State-funded primary", "200", "10", "5.0", "30", "15.0")
OTHER = ("100001", "330", "2001", "State-funded secondary", "1000", "20", "2.0", "100", "10.0")


def raw_census(*rows: tuple[str | None, ...]) -> pl.DataFrame:
    frame = pl.DataFrame(
        [dict(zip(HEADER, row, strict=True)) for row in rows] or None, schema=dict.fromkeys(HEADER, pl.String)
    )
    return frame.with_row_index(SOURCE_ROW, offset=2).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


def census(raw: pl.DataFrame, academic_year: str = "2018/19") -> pl.DataFrame:
    source = SourceInfo(layout=PERF_TABLES.name, source_name="england_census.csv", academic_year=academic_year)
    return fct_school_census(raw, source)


def check(*rows: tuple[str | None, ...], academic_year: str = "2018/19") -> Validation:
    return validate(census(raw_census(*rows), academic_year), SUITE)


def with_(row: tuple[str | None, ...], **changes: str) -> tuple[str | None, ...]:
    return tuple(changes.get(column, value) for column, value in zip(HEADER, row, strict=True))


def failed_checks(reasons: str) -> set[str]:
    # A reason reads "check_name (column=value, ...)"; the check name is what the tests care about.
    return {reason.split(" (")[0] for reason in reasons.split("; ")}


def test_clean_file_passes() -> None:
    result = check(CLEAN, OTHER)
    assert result.quarantine.is_empty()
    assert result.valid[SOURCE_ROW].to_list() == [2, 3]
    assert result.table_failures == []


def test_clean_2023_24_fractions_pass_once_scaled() -> None:
    # 11 of 244 and 59 of 244, published as unrounded fractions.
    row = ("100000", "201", "3614", "State-funded primary", "244", "11", "0.0450819672131", "59", "0.2418032786885")
    assert check(row, academic_year="2023/24").quarantine.is_empty()


@pytest.mark.parametrize(
    ("nor", "ehc", "ehc_pct", "sen", "sen_pct"),
    [
        # 1/16 = 6.25% and 3/16 = 18.75%, published rounded half up: the widest rounding gap there is.
        ("16", "1", "6.3", "3", "18.8"),
        # 5/285 = 1.754% published as 1.8, as in the real 2018-19 file.
        ("285", "5", "1.8", "50", "17.5"),
    ],
)
def test_2018_19_one_decimal_percentages_are_not_quarantined(
    nor: str, ehc: str, ehc_pct: str, sen: str, sen_pct: str
) -> None:
    row = with_(CLEAN, NOR=nor, TSENELSE=ehc, PSENELSE=ehc_pct, TSENELK=sen, PSENELK=sen_pct)
    assert check(row).quarantine.is_empty()


def test_2018_19_na_row_is_not_quarantined() -> None:
    # The real 2018-19 file has schools with every count and percentage 'NA'.
    row = with_(CLEAN, NOR="NA", TSENELSE="NA", PSENELSE="NA", TSENELK="NA", PSENELK="NA")
    assert check(row).quarantine.is_empty()


def test_school_with_no_pupils_is_not_quarantined() -> None:
    row = with_(OTHER, NOR="0", TSENELSE="0", PSENELSE="0", TSENELK="0", PSENELK="0")
    assert check(CLEAN, row).quarantine.is_empty()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"URN": "12345"}, {"urn_is_six_digits"}),
        ({"LA": "999"}, {"la_code_known"}),
        ({"LA": "21"}, {"la_code_is_three_digits", "la_code_known"}),
        ({"ESTAB": "361"}, {"estab_is_four_digits"}),
        # 10 + 15 pupils with SEN in a school of 20, each percentage consistent with its own count.
        (
            {"NOR": "20", "PSENELSE": "50.0", "TSENELK": "15", "PSENELK": "75.0"},
            {"ehc_plan_plus_sen_support_within_total"},
        ),
        ({"PSENELSE": "20.0"}, {"ehc_plan_pct_matches_count"}),
        ({"PSENELK": "15.2"}, {"sen_support_pct_matches_count"}),
        ({"TSENELK": "abc"}, {"sen_support_is_number_or_symbol"}),
        ({"TSENELSE": "12.5"}, {"ehc_plan_is_number_or_symbol"}),
        ({"TSENELK": "-3", "PSENELK": "-1.5"}, {"sen_support_non_negative", "sen_support_pct_in_range"}),
    ],
    ids=lambda value: "+".join(sorted(value)) if isinstance(value, set) else None,
)
def test_bad_row_is_quarantined_with_the_failing_check(changes: dict[str, str], expected: set[str]) -> None:
    result = check(OTHER, with_(CLEAN, **changes))
    assert result.quarantine[SOURCE_ROW].to_list() == [3]
    assert failed_checks(result.quarantine["reasons"].item()) == expected
    assert result.valid[SOURCE_ROW].to_list() == [2]


def test_invalid_total_is_quarantined_as_not_a_number() -> None:
    result = check(with_(CLEAN, NOR="abc"))
    assert "total_pupils_is_number_or_symbol" in failed_checks(result.quarantine["reasons"].item())


def test_duplicate_urn_quarantines_both_rows() -> None:
    result = check(CLEAN, OTHER, with_(CLEAN, ESTAB="3615"))
    assert result.quarantine[SOURCE_ROW].to_list() == [2, 4]
    assert all(failed_checks(reasons) == {"urn_unique_per_year"} for reasons in result.quarantine["reasons"])
    assert result.valid[SOURCE_ROW].to_list() == [3]


def test_row_failing_two_checks_lists_both() -> None:
    result = check(CLEAN, with_(OTHER, URN="12345", LA="999"))
    assert result.quarantine.height == 1
    assert failed_checks(result.quarantine["reasons"].item()) == {"urn_is_six_digits", "la_code_known"}
    assert result.failed_row_checks == {"urn_is_six_digits": 1, "la_code_known": 1}


def test_quarantined_row_carries_its_raw_record_as_json() -> None:
    raw = raw_census(CLEAN, with_(OTHER, LA="999"))
    records = raw.select(SOURCE_ROW, *PERF_TABLES.columns_in(raw.columns))
    result = validate(census(raw), SUITE, records)
    assert result.quarantine[SOURCE_ROW].to_list() == [3]
    assert json.loads(result.quarantine["record"].item()) == dict(zip(HEADER, with_(OTHER, LA="999"), strict=True))


def test_file_of_national_rows_only_fails_the_table_check() -> None:
    national = ("NAT", None, "PRI", "State-funded primary", "4727089", "74404", "1.6", "595708", "12.6")
    result = check(national)
    assert result.valid.is_empty()
    assert [failure.split(" ")[0] for failure in result.table_failures] == ["file_has_school_rows"]


def test_empty_file_fails_the_table_check() -> None:
    result = check()
    assert result.table_failures
    assert result.table_failures[0].startswith("file_has_school_rows")


def sen_raw(time_periods: list[str], urns: list[str]) -> pl.DataFrame:
    n = len(urns)
    columns = {
        "time_period": time_periods,
        "geographic_level": ["School"] * n,
        "old_la_code": ["201"] * n,
        "URN": urns,
        "estab": ["3614"] * n,
        "Total pupils": ["200"] * n,
        "SEN support": ["30"] * n,
        "EHC plan": ["10"] * n,
    }
    frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))
    return frame.with_row_index(SOURCE_ROW, offset=2).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


SEN = SourceInfo(layout=SEN_UNDERLYING.name, source_name="sen_school_level.csv")


def test_sen_underlying_same_school_in_two_years_is_not_a_duplicate() -> None:
    result = validate(fct_school_census(sen_raw(["202122", "202223"], ["100000", "100000"]), SEN), SUITE)
    assert result.quarantine.is_empty()


def test_sen_underlying_unreadable_year_is_quarantined() -> None:
    result = validate(fct_school_census(sen_raw(["202223", "2022"], ["100000", "100001"]), SEN), SUITE)
    assert result.quarantine[SOURCE_ROW].to_list() == [3]
    assert failed_checks(result.quarantine["reasons"].item()) == {"academic_year_present"}


# --- codes in ASCII digits only; supplementary counts checked; junk in status-less cells named ----------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # Before: '\d' matched Arabic-Indic digits and the URN was published.
        ({"URN": "١٠٠٠٤٠"}, {"urn_is_six_digits"}),
        ({"LA": "٢٠١"}, {"la_code_is_three_digits", "la_code_known"}),
        ({"ESTAB": "３６１４"}, {"estab_is_four_digits"}),
        ({"NOR": "٢٠٠"}, {"total_pupils_is_number_or_symbol"}),
        ({"NOR": "inf"}, {"total_pupils_is_number_or_symbol"}),
        ({"PSENELSE": "5,0"}, {"every_typed_cell_is_a_number_or_symbol"}),
    ],
    ids=lambda value: "+".join(sorted(value)) if isinstance(value, set) else None,
)
def test_other_scripts_and_impossible_numbers_are_quarantined_by_name(
    changes: dict[str, str], expected: set[str]
) -> None:
    result = validate(census(raw_census(OTHER, with_(CLEAN, **changes))), SUITE, engine="polars")
    assert result.quarantine[SOURCE_ROW].to_list() == [3]
    assert failed_checks(result.quarantine["reasons"].item()) == expected


SUPPLEMENTARY = ("NORG", "NORB", "NUMEAL", "NUMENGFL", "NUMUNCFL", "PNUMEAL", "NUMFSM", "NUMFSMEVER", "NORFSMEVER")
# 973 pupils: 480 girls and 490 boys (3 pupils of neither), 100 + 870 + 3 by first language, 200 FSM-ever-6 of 900.
PLAIN = ("480", "490", "100", "870", "3", "10.3", "150", "200", "900")


def check_supplementary(engine: str = "polars", **changes: str) -> Validation:
    """The row through the real transform and the suite; the Polars translation of the suite by default, for
    speed (tests/expectations/test_engines.py holds the two engines to the same answers)."""
    row = {**dict(zip(HEADER, with_(CLEAN, NOR="973", PSENELSE="1.0", PSENELK="3.1"), strict=True)),
           **dict(zip(SUPPLEMENTARY, PLAIN, strict=True)), **changes}  # fmt: skip
    frame = pl.DataFrame([row], schema=dict.fromkeys(row, pl.String))
    raw = frame.with_row_index(SOURCE_ROW, offset=2).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))
    return validate(census(raw), SUITE, engine=engine)


def test_plain_supplementary_counts_pass() -> None:
    assert check_supplementary().quarantine.is_empty()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # Before: loaded (the issue's case: a million girls at a school of 973).
        ({"NORG": "1000000"}, {"girls_within_total_pupils", "girls_plus_boys_within_total_pupils"}),
        ({"NORG": "490", "NORB": "490"}, {"girls_plus_boys_within_total_pupils"}),
        ({"NUMEAL": "974"}, {"eal_pupils_within_total_pupils", "language_groups_within_total_pupils"}),
        ({"NUMENGFL": "871"}, {"language_groups_within_total_pupils"}),
        ({"NUMFSM": "980"}, {"fsm_pupils_within_total_pupils"}),
        ({"NUMFSMEVER": "901"}, {"fsm_ever_6_pupils_within_denominator"}),
        ({"NORFSMEVER": "974"}, {"fsm_ever_6_denominator_within_total_pupils"}),
        ({"NORB": "-5"}, {"boys_non_negative"}),
        ({"PNUMEAL": "103"}, {"eal_pct_in_range"}),
        ({"NUMEAL": "oops"}, {"supplementary_is_number_or_symbol", "every_typed_cell_is_a_number_or_symbol"}),
        ({"NORG": "٤٨٠"}, {"every_typed_cell_is_a_number_or_symbol"}),
        ({"PNUMEAL": "1e400"}, {"every_typed_cell_is_a_number_or_symbol"}),
    ],
    ids=lambda value: "+".join(sorted(value)) if isinstance(value, set) else None,
)
def test_supplementary_counts_are_checked_against_the_headcount(changes: dict[str, str], expected: set[str]) -> None:
    result = check_supplementary(**changes)
    assert failed_checks(result.quarantine["reasons"].item()) == expected


def test_a_junk_cell_is_named_in_the_reason() -> None:
    reasons = check_supplementary("gx", NORG="٤٨٠", PNUMEAL="1e400").quarantine["reasons"].item()
    assert "invalid_cells='PNUMEAL, NORG'" in reasons


def test_symbols_in_supplementary_counts_are_not_junk() -> None:
    assert check_supplementary(NORG="c", NUMEAL="NA", PNUMEAL="x").quarantine.is_empty()


def test_sen_underlying_negative_or_junk_need_counts_are_quarantined() -> None:
    frame = sen_raw(["202223"] * 3, ["100000", "100001", "100002"]).with_columns(
        pl.Series("EHC_Primary_need_asd", ["4", "-1", "four"])
    )
    result = validate(fct_school_census(frame, SEN), SUITE, engine="polars")
    reasons = dict(zip(result.quarantine[SOURCE_ROW], result.quarantine["reasons"], strict=True))
    assert set(reasons) == {3, 4}
    assert failed_checks(reasons[3]) == {"ehc_primary_need_asd_non_negative"}
    assert failed_checks(reasons[4]) == {"every_typed_cell_is_a_number_or_symbol"}
