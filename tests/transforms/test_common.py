"""Symbol parsing, academic years, census dates and header matching shared by every dataset."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from sendflow.transforms.common import (
    INVALID_CELLS,
    MAX_EXACT,
    SOURCE_ROW,
    CellKind,
    Layout,
    SourceError,
    academic_year_in_text,
    as_count,
    as_float,
    as_percent,
    cell_status,
    cell_value,
    cells,
    count_status,
    date_status,
    financial_year_in_text,
    harmonise_columns,
    header_key,
    invalid_cells,
    match_columns,
    normalise_academic_year,
    parse_cells,
    parse_dmy,
    percent_status,
    resolve_percentages,
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


# --- the parsing layer: ASCII digits, bounds, percentages, dates, one parse per typed cell -----------------

OTHER_SCRIPTS = ["٣٤٤", "２４４", "۳۴۴", "३४४", "3٤4", "١٠٠٠٤٠"]


@pytest.mark.parametrize("digits", OTHER_SCRIPTS)
def test_digits_of_other_scripts_are_invalid_in_every_kind_of_number(digits: str) -> None:
    # Before: \d matched them, the cast did not: NULL with no status.
    for value, status in ((as_count, count_status), (as_float, status_of)):
        assert evaluate(value("v"), digits) is None
        assert evaluate(status("v"), digits) == f"invalid:{digits}"
    assert evaluate(as_percent("v", CellKind.POINTS), digits + "%") is None
    assert evaluate(percent_status("v"), digits + "%") == f"invalid:{digits}%"


@pytest.mark.parametrize(
    "text", ["inf", "-inf", "Infinity", "NaN", "nan", "1e400", "-1e400", "99999999999999999999999"]
)
def test_non_finite_and_huge_numbers_are_invalid_on_their_row_not_a_cast_error(text: str) -> None:
    # Before: as_count cast inf or 1e23 to Int64 and the whole file failed with Polars' cast error.
    frame = pl.DataFrame({"v": ["12", text]}, schema={"v": pl.String})
    parsed = frame.select(
        as_count("v").alias("n"), count_status("v").alias("ns"), as_float("v").alias("f"), status_of("v").alias("fs")
    )
    assert parsed.row(0) == (12, None, 12.0, None)
    assert parsed.row(1) == (None, f"invalid:{text}", None, f"invalid:{text}")


def test_the_bound_is_the_last_whole_number_float64_holds_exactly() -> None:
    below, at = str(MAX_EXACT - 1), str(MAX_EXACT)
    assert evaluate(as_count("v"), below) == MAX_EXACT - 1
    assert evaluate(as_count("v"), at) is None
    assert evaluate(count_status("v"), at) == f"invalid:{at}"


@pytest.mark.parametrize(("text", "expected"), [("1,234", 1234.0), ("1,234,567.5", 1234567.5), ("-1,000", -1000.0)])
def test_thousands_separators_in_groups_of_three_are_read(text: str, expected: float) -> None:
    assert evaluate(as_float("v"), text) == expected


@pytest.mark.parametrize("text", ["0,5", "12,34", "1234,567", ",5", "1,,234", "+5", ".5", "5.", "1_000", "0x1A"])
def test_other_commas_and_number_spellings_are_invalid_not_misread(text: str) -> None:
    # Before: every comma was removed, so '0,5' (a decimal comma) loaded as 5.
    assert evaluate(as_float("v"), text) is None
    assert evaluate(status_of("v"), text) == f"invalid:{text}"


@pytest.mark.parametrize("text", ["46.90%", "46.9 %", " 46.9% "])
def test_a_percent_sign_is_points_in_either_convention(text: str) -> None:
    for kind in (CellKind.POINTS, CellKind.FRACTION):
        assert evaluate(as_percent("v", kind), text) == pytest.approx(46.9)
    assert evaluate(percent_status("v"), text) is None


def test_a_bare_percentage_follows_the_convention() -> None:
    assert evaluate(as_percent("v", CellKind.POINTS), "46.9") == pytest.approx(46.9)
    assert evaluate(as_percent("v", CellKind.FRACTION), "0.469") == pytest.approx(46.9)
    assert evaluate(percent_status("v"), "NA") == "x"
    assert evaluate(percent_status("v"), "%") == "invalid:%"
    # A count or an amount is never written with '%'.
    assert evaluate(count_status("v"), "46.9%") == "invalid:46.9%"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("01-09-2020", date(2020, 9, 1)), ("1/9/2020", date(2020, 9, 1)), ("2020-9-1 00:00:00", date(2020, 9, 1)),
     ("2020-09-01T10:30", date(2020, 9, 1))],
)  # fmt: skip
def test_dates_in_the_published_forms_parse(text: str, expected: date) -> None:
    assert evaluate(parse_dmy("v"), text) == expected
    assert evaluate(date_status("v"), text) is None


@pytest.mark.parametrize("text", ["31-02-2020", "01-09-20", "01-01-0001", "٠١-٠٩-٢٠٢٠", "2020-09-01abc", "1 Sept 2020"])
def test_an_unreadable_date_is_invalid_not_a_silent_null(text: str) -> None:
    # Before: '01-09-20' was 1 September of the year 20, and '2020-09-01abc' was 1 September 2020.
    assert evaluate(parse_dmy("v"), text) is None
    assert evaluate(date_status("v"), text) == f"invalid:{text}"


@pytest.mark.parametrize("text", ["٢٠٢٣/٢٤", "２０２３-２４"])
def test_years_in_other_scripts_are_no_years(text: str) -> None:
    assert academic_year_in_text(text) is None
    with pytest.raises(ValueError, match="not an academic year"):
        normalise_academic_year(text)


TYPED = Layout(
    name="typed",
    dataset="test",
    description="a layout with typed cells",
    required=("N", "P", "D"),
    optional=("Q",),
    cells=(*cells(CellKind.COUNT, "N"), *cells(CellKind.POINTS_OR_FRACTION, "P", "Q"), *cells(CellKind.DATE, "D")),
)


def test_a_layout_types_only_its_own_columns_and_names_a_missing_kind() -> None:
    with pytest.raises(ValueError, match="types column"):
        Layout(name="bad", dataset="test", description="", required=("A",), cells=cells(CellKind.COUNT, "B"))
    assert TYPED.kind("N") is CellKind.COUNT
    with pytest.raises(KeyError, match="no kind"):
        TYPED.kind("Z")


def test_parse_cells_gives_values_statuses_and_names_the_invalid_cells() -> None:
    frame = raw(
        {"N": ["12", "c", "x1"], "P": ["10", "NA", "5"], "D": ["01-09-2020", "", "31-02-2020"], "Q": [None] * 3}
    )
    parsed = parse_cells(frame, TYPED).select(
        cell_value("N"), cell_status("N"), cell_value("P"), cell_value("D"), invalid_cells(["N", "P", "D"])
    )
    assert parsed.columns[-1] == INVALID_CELLS
    assert parsed.rows() == [
        (12, None, 10.0, date(2020, 9, 1), None),
        (None, "c", None, None, None),
        (None, "invalid:x1", 5.0, None, "N, D"),
    ]


def percentages(p: list[str | None], q: list[str | None] | None = None) -> pl.DataFrame:
    return raw({"N": ["1"] * len(p), "P": p, "D": [""] * len(p), "Q": q or [None] * len(p)})


@pytest.mark.parametrize(
    ("p", "q", "kind"),
    [
        (["0.05", "0", "0.45"], None, CellKind.FRACTION),  # the 2023-24 re-save
        (["1.8", "0", "0.4"], None, CellKind.POINTS),  # 2018-19: one value above 1 says points
        (["0.4", "0.2"], ["12.5", "3"], CellKind.POINTS),  # the file's columns decide together
        (["46.90%", "0.00%", "12.5%"], None, CellKind.POINTS),  # DfE's 2022-23 tables
        (["46.90%", "0", "12.5%"], None, CellKind.FRACTION),  # bare zeros are zero either way
        (["46.90%", "12.5", "0.3"], None, CellKind.POINTS),  # a bare 12.5 says bare cells are points
        (["NA", None], None, CellKind.POINTS),
    ],
)
def test_a_file_says_which_convention_its_percentages_hold(
    p: list[str | None], q: list[str | None] | None, kind: CellKind
) -> None:
    resolved = resolve_percentages(percentages(p, q), TYPED)
    assert (resolved.kind("P"), resolved.kind("Q"), resolved.kind("N")) == (kind, kind, CellKind.COUNT)


def test_percent_signs_and_bare_fractions_in_one_column_are_refused_naming_rows() -> None:
    frame = percentages(["46.9%", "0.5", "12%", "0.25"])
    with pytest.raises(SourceError, match=r"column P mixes .*'%' \(rows 2, 4\).*no larger than 1 \(rows 3, 5\)"):
        resolve_percentages(frame, TYPED)


def test_a_percent_file_loads_its_percentages_on_0_to_100() -> None:
    frame = parse_cells(percentages(["46.90%", "0", "0.5%"]), TYPED)
    assert frame.select(cell_value("P")).to_series().to_list() == pytest.approx([46.9, 0.0, 0.5])
