"""Symbol parsing, academic years, census dates and header matching shared by every dataset."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from sendflow.transforms.common import (
    SOURCE_ROW,
    Layout,
    academic_year_in_text,
    as_count,
    count_status,
    financial_year_in_text,
    harmonise_columns,
    header_key,
    match_columns,
    normalise_academic_year,
    parse_dmy,
    spring_census_date,
    status_of,
)


def raw(columns: dict[str, list[str | None]]) -> pl.DataFrame:
    """A frame as the intake reads it: text columns plus the source row number (the header is row 1)."""
    frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))
    return frame.with_row_index(SOURCE_ROW, offset=2).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


def evaluate(expression: pl.Expr, value: str | None) -> object:
    return pl.DataFrame({"v": [value]}, schema={"v": pl.String}).select(expression.alias("out"))["out"].item()


@pytest.mark.parametrize("value", ["12", "0", "-3", "1,234", " 42 ", "12.5"])
def test_status_of_a_number_is_null(value: str) -> None:
    assert evaluate(status_of("v"), value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("NA", "x"),
        ("na", "x"),
        ("", "x"),
        ("   ", "x"),
        (None, "x"),
        ("n/a", "x"),
        ("..", "x"),
        ("~", "low"),
    ],
)
def test_status_of_maps_missing_value_spellings_to_the_contract_symbol(value: str | None, expected: str) -> None:
    assert evaluate(status_of("v"), value) == expected


@pytest.mark.parametrize("symbol", ["c", "x", "z", "low", ":", "u"])
def test_status_of_keeps_contract_symbols(symbol: str) -> None:
    assert evaluate(status_of("v"), symbol) == symbol


@pytest.mark.parametrize(("value", "expected"), [("X", "x"), ("C", "c"), ("LOW", "low"), (" z ", "z")])
def test_status_of_lower_cases_and_trims_symbols(value: str, expected: str) -> None:
    assert evaluate(status_of("v"), value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("abc", "invalid:abc"), ("12a", "invalid:12a"), ("1.2.3", "invalid:1.2.3")]
)
def test_status_of_marks_junk_invalid_with_the_original_text(value: str, expected: str) -> None:
    assert evaluate(status_of("v"), value) == expected


@pytest.mark.parametrize(("value", "expected"), [("12", 12), ("0", 0), ("1,234", 1234), (" 7 ", 7), ("12.0", 12)])
def test_as_count_parses_whole_numbers(value: str, expected: int) -> None:
    assert evaluate(as_count("v"), value) == expected


@pytest.mark.parametrize("value", ["12.5", "NA", "", None, "x", "abc"])
def test_as_count_is_null_for_fractions_symbols_and_junk(value: str | None) -> None:
    assert evaluate(as_count("v"), value) is None


def test_count_status_marks_a_fractional_count_invalid() -> None:
    # status_of alone would read '12.5' as a number; a count of pupils cannot be fractional.
    assert evaluate(count_status("v"), "12.5") == "invalid:12.5"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12", None), ("1,234", None), ("NA", "x"), ("", "x"), (None, "x"), ("c", "c"), ("abc", "invalid:abc")],
)
def test_count_status_agrees_with_status_of_for_whole_numbers_and_symbols(
    value: str | None, expected: str | None
) -> None:
    assert evaluate(count_status("v"), value) == expected


def test_count_and_status_over_a_column() -> None:
    values = ["285", "NA", "c", "12.5", "1,234", None, "oops"]
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String}).select(
        as_count("v").alias("count"), count_status("v").alias("status")
    )
    assert frame["count"].dtype == pl.Int64
    assert frame["count"].to_list() == [285, None, None, None, 1234, None, None]
    assert frame["status"].to_list() == [None, "x", "c", "invalid:12.5", None, "x", "invalid:oops"]


@pytest.mark.parametrize("text", ["2023-24", "2023/24", "2023-2024", "202324", "2023_24", " 2023/24 "])
def test_normalise_academic_year_accepts_the_usual_spellings(text: str) -> None:
    assert normalise_academic_year(text) == "2023/24"


def test_normalise_academic_year_across_a_century_boundary_digit() -> None:
    assert normalise_academic_year("2019-2020") == "2019/20"
    assert normalise_academic_year("2009/10") == "2009/10"


@pytest.mark.parametrize("text", ["2023-25", "2023-2025", "2023-23", "2023", "23/24", "abc", ""])
def test_normalise_academic_year_rejects_non_years(text: str) -> None:
    with pytest.raises(ValueError, match="not an academic year"):
        normalise_academic_year(text)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("england_census_2023-24.csv", "2023/24"),
        ("x_2018-2019.csv", "2018/19"),
        ("sen_school_level_202223.csv", "2022/23"),
        ("england_census.csv", None),
        # A GIAS extract is stamped with a date, which must not be read as an academic year.
        ("edubasealldata20230915.csv", None),
        # The first *valid* year wins; an impossible one earlier in the name is skipped.
        ("tables_2019-2021_2020-21.csv", "2020/21"),
    ],
)
def test_academic_year_in_text(name: str, expected: str | None) -> None:
    assert academic_year_in_text(name) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-22", "2021-22"),
        ("2021-2022", "2021-22"),
        ("2021 to 2022", "2021-22"),
        ("2021–22", "2021-22"),  # the en dash publishers' titles use
        ("202122", "2021-22"),
        ("FY 2099-00", "2099-00"),
        ("Dedicated schools grant: 2023 to 2024 allocations", "2023-24"),
        ("2021-23", None),
        ("Year", None),
    ],
)
def test_financial_year_in_text(text: str, expected: str | None) -> None:
    assert financial_year_in_text(text) == expected


def test_one_parser_spells_a_span_as_an_academic_or_a_financial_year() -> None:
    for text in ("2023-24", "2023/2024", "202324", "2023 to 2024"):
        assert normalise_academic_year(text) == "2023/24"
        assert financial_year_in_text(text) == "2023-24"


def test_spring_census_date_is_the_third_thursday_of_january() -> None:
    assert spring_census_date("2023/24") == date(2024, 1, 18)
    assert spring_census_date("2018/19") == date(2019, 1, 17)
    # 1 January 2026 is itself a Thursday, so the third Thursday is the 15th.
    assert spring_census_date("2025/26") == date(2026, 1, 15)


@pytest.mark.parametrize("start", range(2010, 2031))
def test_spring_census_date_is_always_a_january_thursday_in_the_third_week(start: int) -> None:
    census = spring_census_date(f"{start}/{(start + 1) % 100:02d}")
    assert (census.year, census.month) == (start + 1, 1)
    assert census.weekday() == 3
    assert 15 <= census.day <= 21


def test_parse_dmy_reads_dashes_and_slashes_and_leaves_blanks_and_impossible_dates_null() -> None:
    frame = pl.DataFrame({"d": ["01-09-2023", "31/08/2024", "", None, "31-02-2023"]}, schema={"d": pl.String})
    assert frame.select(parse_dmy("d"))["d"].to_list() == [date(2023, 9, 1), date(2024, 8, 31), None, None, None]


def test_parse_dmy_reads_iso_text_from_excel_date_cells() -> None:
    frame = pl.DataFrame({"d": ["2020-09-01", "2020-09-01 00:00:00"]}, schema={"d": pl.String})
    assert frame.select(parse_dmy("d"))["d"].to_list() == [date(2020, 9, 1), date(2020, 9, 1)]


@pytest.mark.parametrize(
    "spelling", ["Total pupils", "total pupils", "TOTAL_PUPILS", "\ufeffTotal pupils", " Total  pupils "]
)
def test_header_key_ignores_case_bom_and_space_underscore_runs(spelling: str) -> None:
    assert header_key(spelling) == header_key("Total_pupils")


def test_header_key_keeps_distinct_names_distinct() -> None:
    assert header_key("PNUMUNCFL") != header_key("PNUMUNCLF")


def test_match_columns_maps_wanted_names_to_the_header_spelling() -> None:
    header = ["\ufefftime_period", "total pupils", "Estab", "unrelated"]
    wanted = ["time_period", "Total pupils", "ESTAB", "EHC plan"]
    assert match_columns(header, wanted) == {
        "time_period": "\ufefftime_period",
        "Total pupils": "total pupils",
        "ESTAB": "Estab",
    }


TINY = Layout(name="tiny", dataset="test", description="a test layout", required=("URN", "LA"), optional=("NOTE",))


def test_harmonise_columns_renames_to_the_layout_and_adds_absent_optionals() -> None:
    frame = harmonise_columns(raw({"urn": ["100000"], " la ": ["201"], "extra": ["dropped"]}), TINY)
    assert frame.columns == [SOURCE_ROW, "URN", "LA", "NOTE"]
    assert frame.row(0) == (2, "100000", "201", None)
    assert frame.schema["NOTE"] == pl.String


def test_harmonise_columns_names_the_missing_required_column() -> None:
    with pytest.raises(ValueError, match=r"layout tiny: LA$"):
        harmonise_columns(raw({"URN": ["100000"], "NOTE": ["n"]}), TINY)


def test_layout_columns_in_returns_the_headers_own_names() -> None:
    assert TINY.columns_in(["Note", "urn", "la", "other"]) == ["urn", "la", "Note"]
