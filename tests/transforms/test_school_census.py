"""fct_school_census from the performance-tables census (2018-19 and 2023-24) and the SEN underlying data."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from sendflow.transforms.common import INVALID_CELLS, SOURCE_ROW, SourceError, SourceInfo
from sendflow.transforms.school_census import COLUMNS, PERF_TABLES, SEN_UNDERLYING, build, fct_school_census


def raw(columns: dict[str, list[str | None]]) -> pl.DataFrame:
    """A frame as the intake reads it: text columns plus the source row number (the header is row 1)."""
    frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))
    return frame.with_row_index(SOURCE_ROW, offset=2).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


def perf(academic_year: str | None) -> SourceInfo:
    return SourceInfo(layout=PERF_TABLES.name, source_name="england_census.csv", academic_year=academic_year)


SEN = SourceInfo(layout=SEN_UNDERLYING.name, source_name="sen_school_level.csv")
NA9 = ["NA"] * 9


def census_2018_19() -> pl.DataFrame:
    # Shaped like the 2018-19 file: upper-case ESTAB, PNUMUNCFL, percentages 0-100, 'NA' for no data.
    return raw(
        {
            "URN": ["100000", "100001", "100006", "NAT"],
            "LA": ["201", "201", "202", None],
            "ESTAB": ["3614", "6005", "1100", "PRI"],
            "SCHOOLTYPE": ["State-funded primary", "Independent school", "Pupil referral unit", "State-funded primary"],
            "NOR": ["285", "752", "52", "4727089"],
            "NORG": ["141", "752", "20", "2318560"],
            "NORB": ["144", "0", "32", "2408528"],
            "TSENELSE": ["5", "0", "0", "74404"],
            "PSENELSE": ["1.8", "0", "0", "1.6"],
            "TSENELK": ["50", "58", "33", "595708"],
            "PSENELK": ["17.5", "7.7", "63.5", "12.6"],
            **{
                column: [first, "NA", third, "1"]
                for column, first, third in (
                    ("NUMEAL", "141", "11"),
                    ("NUMENGFL", "143", "40"),
                    ("NUMUNCFL", "1", "1"),
                    ("PNUMEAL", "49.5", "21.2"),
                    ("PNUMUNCFL", "0.4", "1.9"),
                    ("NUMFSM", "32", "21"),
                    ("NUMFSMEVER", "38", "46"),
                    ("PNUMFSMEVER", "16.2", "88.5"),
                )
            },
        }
    )


def census_2023_24() -> pl.DataFrame:
    # Shaped like the 2023-24 re-save: 'Estab', PNUMUNCLF, NORFSMEVER, unrounded fractions 0-1, blanks.
    return raw(
        {
            "URN": ["100000", "100001", "NAT"],
            "LA": ["201", "201", None],
            "Estab": ["3614", "6005", "SPE"],
            "SCHOOLTYPE": ["State-funded primary", "Independent school", "Special school"],
            "NOR": ["200", "764", "160420"],
            "NORG": ["100", "764", "44355"],
            "NORB": ["100", "0", "116065"],
            "TSENELSE": ["10", "0", "159278"],
            "PSENELSE": ["0.05", "0", "0.9928811868844284"],
            "TSENELK": ["30", "100", "1084"],
            "PSENELK": ["0.15", "0.130890052356", "0.006757262186759755"],
            "NUMEAL": ["50", "", "23044"],
            "NUMENGFL": ["148", "", "136879"],
            "NUMUNCFL": ["2", "", "497"],
            "PNUMEAL": ["0.25", "", "0.14364792419897768"],
            "PNUMUNCLF": ["0.01", "", "0.0030981174417154967"],
            "NUMFSM": ["40", "", "75504"],
            "NUMFSMEVER": ["50", "", "71064"],
            "NORFSMEVER": ["200", "", "140633"],
            "PNUMFSMEVER": ["0.25", "", "0.5053152531767082"],
        }
    )


def test_perf_tables_output_has_the_contract_columns_in_order() -> None:
    assert tuple(fct_school_census(census_2018_19(), perf("2018/19")).columns) == COLUMNS
    assert tuple(fct_school_census(census_2023_24(), perf("2023/24")).columns) == COLUMNS


def test_perf_tables_national_rows_are_dropped() -> None:
    for frame, year in ((census_2018_19(), "2018/19"), (census_2023_24(), "2023/24")):
        fact = fct_school_census(frame, perf(year))
        assert "NAT" not in fact["urn"].to_list()
        assert fact.height == frame.height - 1


def test_perf_tables_2018_19_keys_and_dates() -> None:
    fact = fct_school_census(census_2018_19(), perf("2018/19"))
    assert fact["urn"].to_list() == ["100000", "100001", "100006"]
    assert fact[SOURCE_ROW].to_list() == [2, 3, 4]
    assert fact["academic_year"].unique().to_list() == ["2018/19"]
    assert fact["census_date"].unique().to_list() == [date(2019, 1, 17)]
    assert fact["la_code"].to_list() == ["201", "201", "202"]
    assert fact["estab"].to_list() == ["3614", "6005", "1100"]
    assert fact["laestab"].to_list() == ["2013614", "2016005", "2021100"]
    assert fact["source_layout"].unique().to_list() == [PERF_TABLES.name]


def test_perf_tables_2018_19_counts_and_percentages_stay_on_0_to_100() -> None:
    fact = fct_school_census(census_2018_19(), perf("2018/19"))
    assert fact["total_pupils"].to_list() == [285, 752, 52]
    assert fact["ehc_plan"].to_list() == [5, 0, 0]
    assert fact["sen_support"].to_list() == [50, 58, 33]
    assert fact["total_pupils_status"].to_list() == [None, None, None]
    assert fact["ehc_plan_pct"].to_list() == pytest.approx([1.8, 0.0, 0.0])
    assert fact["sen_support_pct"].to_list() == pytest.approx([17.5, 7.7, 63.5])
    assert fact["girls"].to_list() == [141, 752, 20]
    assert fact["boys"].to_list() == [144, 0, 32]


def test_perf_tables_2018_19_na_supplementary_values_are_null_with_status_x() -> None:
    fact = fct_school_census(census_2018_19(), perf("2018/19"))
    assert fact["eal_pupils"].to_list() == [141, None, 11]
    assert fact["eal_pct"].to_list()[1] is None
    assert fact["unclassified_language_pct"].to_list()[0] == pytest.approx(0.4)
    assert fact["unclassified_language_pct"].to_list()[2] == pytest.approx(1.9)
    assert fact["fsm_ever_6_pct"].to_list()[2] == pytest.approx(88.5)
    assert fact["supplementary_status"].to_list() == [None, "x", None]
    # 2018-19 has no NORFSMEVER column at all.
    assert fact["fsm_ever_6_denominator"].null_count() == fact.height


def test_perf_tables_pupil_referral_unit_reads_as_state_funded_ap_school() -> None:
    fact = fct_school_census(census_2018_19(), perf("2018/19"))
    assert fact["school_type"].to_list() == ["State-funded primary", "Independent school", "State-funded AP school"]


def test_perf_tables_special_school_reads_as_state_funded_special_school() -> None:
    frame = census_2018_19().with_columns(
        pl.when(pl.col("URN") == "100001").then(pl.lit("Special school")).otherwise("SCHOOLTYPE").alias("SCHOOLTYPE")
    )
    assert fct_school_census(frame, perf("2018/19"))["school_type"][1] == "State-funded special school"


def test_perf_tables_2023_24_reads_estab_in_any_case() -> None:
    fact = fct_school_census(census_2023_24(), perf("2023/24"))
    assert fact["estab"].to_list() == ["3614", "6005"]
    assert fact["laestab"].to_list() == ["2013614", "2016005"]
    assert fact["census_date"].unique().to_list() == [date(2024, 1, 18)]


def test_perf_tables_2023_24_fractions_are_scaled_to_percentages() -> None:
    fact = fct_school_census(census_2023_24(), perf("2023/24"))
    assert fact["ehc_plan_pct"].to_list() == pytest.approx([5.0, 0.0])
    assert fact["sen_support_pct"].to_list() == pytest.approx([15.0, 13.0890052356])
    assert fact["eal_pct"].to_list()[0] == pytest.approx(25.0)
    # 2023-24 spells the unclassified-language share PNUMUNCLF.
    assert fact["unclassified_language_pct"].to_list()[0] == pytest.approx(1.0)
    assert fact["fsm_ever_6_pct"].to_list()[0] == pytest.approx(25.0)


def test_perf_tables_2023_24_blank_supplementary_values_are_null_with_status_x() -> None:
    fact = fct_school_census(census_2023_24(), perf("2023/24"))
    assert fact["fsm_ever_6_denominator"].to_list() == [200, None]
    assert fact["fsm_ever_6_pupils"].to_list() == [50, None]
    assert fact["eal_pct"].to_list()[1] is None
    assert fact["supplementary_status"].to_list() == [None, "x"]


def test_perf_tables_suppressed_and_junk_counts_carry_their_status() -> None:
    frame = census_2018_19().with_columns(
        pl.Series("NOR", ["c", "abc", "12.5", "1"]), pl.Series("TSENELK", ["1,234", "58", "33", "1"])
    )
    fact = fct_school_census(frame, perf("2018/19"))
    assert fact["total_pupils"].to_list() == [None, None, None]
    assert fact["total_pupils_status"].to_list() == ["c", "invalid:abc", "invalid:12.5"]
    assert fact["sen_support"].to_list()[0] == 1234
    assert fact["sen_support_status"].to_list()[0] is None


def test_perf_tables_need_breakdowns_are_null_typed_columns() -> None:
    fact = fct_school_census(census_2018_19(), perf("2018/19"))
    assert fact.schema["ehc_primary_need_asd"] == pl.Int64
    assert fact["ehc_primary_need_asd"].null_count() == fact.height


def test_perf_tables_without_an_academic_year_raises() -> None:
    with pytest.raises(ValueError, match="academic year is required"):
        fct_school_census(census_2018_19(), perf(None))


def test_unknown_layout_raises() -> None:
    with pytest.raises(ValueError, match="no layout"):
        fct_school_census(census_2018_19(), SourceInfo(layout="nonsense", source_name="x.csv"))


def test_build_returns_the_fact_table() -> None:
    tables = build(census_2023_24(), perf("2023/24"))
    assert list(tables) == ["fct_school_census"]
    assert tables["fct_school_census"].height == 2


def sen_underlying() -> pl.DataFrame:
    # A subset of the published SEN school-level header (see census_spec/.../sen.header.csv).
    return raw(
        {
            "time_period": ["202223", "202223", "202223", "202223"],
            "time_identifier": ["Academic year"] * 4,
            "geographic_level": ["School", "School", "Local authority", "National"],
            "old_la_code": ["201", "202", "201", None],
            "URN": ["100000", "100006", None, None],
            "estab": ["3614", "1100", None, None],
            "laestab": ["2013614", "2021100", None, None],
            "type_of_establishment": ["Voluntary aided school", "Pupil referral unit", None, None],
            "Total pupils": ["200", "50", "10000", "9000000"],
            "SEN support": ["30", "20", "1300", "1200000"],
            "EHC plan": ["10", "5", "400", "400000"],
            "EHC_Primary_need_asd": ["4", "1", "100", "100000"],
            "EHC_Primary_need_semh": ["3", "4", "100", "100000"],
            "SUP_Primary_need_slcn": ["12", "2", "100", "100000"],
            "SUP_Primary_need_mld": ["8", "x", "100", "100000"],
            "Prov_SPLD": ["0", "0", "0", "0"],
        }
    )


def test_sen_underlying_keeps_school_rows_only() -> None:
    fact = fct_school_census(sen_underlying(), SEN)
    assert fact["urn"].to_list() == ["100000", "100006"]
    assert fact[SOURCE_ROW].to_list() == [2, 3]
    assert tuple(fact.columns) == COLUMNS


def test_sen_underlying_year_comes_from_time_period() -> None:
    fact = fct_school_census(sen_underlying(), SEN)
    assert fact["academic_year"].unique().to_list() == ["2022/23"]
    # Third Thursday of January 2023.
    assert fact["census_date"].unique().to_list() == [date(2023, 1, 19)]


def test_sen_underlying_codes_counts_and_computed_percentages() -> None:
    fact = fct_school_census(sen_underlying(), SEN)
    assert fact["la_code"].to_list() == ["201", "202"]
    assert fact["laestab"].to_list() == ["2013614", "2021100"]
    assert fact["total_pupils"].to_list() == [200, 50]
    assert fact["ehc_plan"].to_list() == [10, 5]
    assert fact["sen_support"].to_list() == [30, 20]
    assert fact["ehc_plan_pct"].to_list() == pytest.approx([5.0, 10.0])
    assert fact["sen_support_pct"].to_list() == pytest.approx([15.0, 40.0])
    assert fact["source_layout"].unique().to_list() == [SEN_UNDERLYING.name]


def test_sen_underlying_need_columns_are_renamed_by_code() -> None:
    fact = fct_school_census(sen_underlying(), SEN)
    assert fact["ehc_primary_need_asd"].to_list() == [4, 1]
    assert fact["ehc_primary_need_semh"].to_list() == [3, 4]
    assert fact["sen_support_primary_need_slcn"].to_list() == [12, 2]
    assert fact["sen_support_primary_need_mld"].to_list() == [8, None]
    # Needs the file does not carry are present but empty.
    assert fact["ehc_primary_need_spld"].null_count() == 2
    assert fact["sen_support_primary_need_asd"].null_count() == 2


def test_sen_underlying_has_no_perf_tables_supplementary_data() -> None:
    fact = fct_school_census(sen_underlying(), SEN)
    for column in ("girls", "eal_pupils", "eal_pct", "fsm_ever_6_pct", "supplementary_status"):
        assert fact[column].null_count() == fact.height, column


def test_sen_underlying_without_laestab_joins_la_and_estab() -> None:
    fact = fct_school_census(sen_underlying().drop("laestab"), SEN)
    assert fact["laestab"].to_list() == ["2013614", "2021100"]


def test_sen_underlying_zero_pupils_gives_no_percentage() -> None:
    frame = sen_underlying().with_columns(pl.Series("Total pupils", ["0", "50", "1", "1"]))
    fact = fct_school_census(frame, SEN)
    assert fact["ehc_plan_pct"].to_list()[0] is None
    assert fact["ehc_plan_pct"].to_list()[1] == pytest.approx(10.0)


def test_sen_underlying_unreadable_time_period_leaves_year_and_date_null() -> None:
    frame = sen_underlying().with_columns(pl.Series("time_period", ["2022/23", "202223", "202223", "202223"]))
    fact = fct_school_census(frame, SEN)
    assert fact["academic_year"].to_list() == [None, "2022/23"]
    assert fact["census_date"].to_list() == [None, date(2023, 1, 19)]


def test_sen_underlying_missing_required_column_is_named() -> None:
    with pytest.raises(ValueError, match="EHC plan"):
        fct_school_census(sen_underlying().drop("EHC plan"), SEN)


def test_perf_tables_row_with_a_blank_urn_is_kept_for_validation() -> None:
    # The intake reads an empty CSV cell as NULL.
    frame = census_2018_19().with_columns(pl.Series("URN", [None, "100001", "100006", "NAT"], dtype=pl.String))
    fact = fct_school_census(frame, perf("2018/19"))
    assert fact[SOURCE_ROW].to_list() == [2, 3, 4]
    assert fact["urn"].to_list()[0] is None


# --- every typed cell parsed, or with a status, or named in invalid_cells -------------------------------


def test_perf_tables_percentages_written_with_a_percent_sign_load_on_0_to_100() -> None:
    # DfE's 2022-23 tables write '46.90%'. Before: every percentage of such a file was NULL, without a word.
    frame = census_2018_19().with_columns(
        pl.Series("PSENELSE", ["1.75%", "0.00%", "0%", "1.60%"]),
        pl.Series("PSENELK", ["17.54%", "7.71%", "63.46%", "12.60%"]),
        pl.Series("PNUMEAL", ["49.47%", "NA", "21.15%", "1%"]),
    )
    fact = fct_school_census(frame, perf("2022/23"))
    assert fact["ehc_plan_pct"].to_list() == pytest.approx([1.75, 0.0, 0.0])
    assert fact["sen_support_pct"].to_list() == pytest.approx([17.54, 7.71, 63.46])
    assert fact["eal_pct"].to_list()[0] == pytest.approx(49.47)
    assert fact[INVALID_CELLS].to_list() == [None, None, None]


def test_perf_tables_percent_signs_mixed_with_bare_fractions_are_refused_naming_rows() -> None:
    frame = census_2023_24().with_columns(pl.Series("PSENELSE", ["5%", "0.13", "0.99"]))
    with pytest.raises(SourceError, match=r"PSENELSE mixes .*\(rows 2\).*\(rows 3\)"):
        fct_school_census(frame, perf("2023/24"))


@pytest.mark.parametrize("nor", ["٣٤٤", "２４４", "inf", "NaN", "1e400", "99999999999999999999999"])
def test_perf_tables_foreign_digits_and_impossible_numbers_are_invalid_not_null_or_a_crash(nor: str) -> None:
    # Before: Arabic-Indic and full-width digits gave NULL with no status; inf, 1e400 and 1e23 failed the
    # whole file with an Int64 cast error naming no row.
    frame = census_2018_19().with_columns(pl.Series("NOR", [nor, "752", "52", "1"]))
    fact = fct_school_census(frame, perf("2018/19"))
    assert fact["total_pupils"].to_list() == [None, 752, 52]
    assert fact["total_pupils_status"].to_list() == [f"invalid:{nor}", None, None]


def test_perf_tables_junk_in_a_column_without_a_status_is_named_in_invalid_cells() -> None:
    frame = census_2018_19().with_columns(
        pl.Series("NORG", ["١٤١", "752", "20", "1"]),
        pl.Series("PSENELK", ["17.5", "7,7", "63.5", "1"]),
        pl.Series("NUMFSM", ["32", "NA", "c", "1"]),  # symbols are no junk: NULL, and the row stands
    )
    fact = fct_school_census(frame, perf("2018/19"))
    assert fact[INVALID_CELLS].to_list() == ["NORG", "PSENELK", None]
    assert fact["girls"].to_list() == [None, 752, 20]
    assert fact["fsm_pupils"].to_list() == [32, None, None]


def test_sen_underlying_junk_in_a_need_column_is_named_in_invalid_cells() -> None:
    frame = sen_underlying().with_columns(pl.Series("EHC_Primary_need_asd", ["4", "1e400", "100", "100000"]))
    fact = fct_school_census(frame, SEN)
    assert fact[INVALID_CELLS].to_list() == [None, "EHC_Primary_need_asd"]
    assert fact["ehc_primary_need_asd"].to_list() == [4, None]
    # 'x' in SUP_Primary_need_mld is the publisher's symbol: NULL, not junk.
    assert fact["sen_support_primary_need_mld"].to_list() == [8, None]
