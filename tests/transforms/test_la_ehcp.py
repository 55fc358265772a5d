"""la_ehcp_observation and fct_la_ehcp from tiny frames shaped like each real EHCP file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl
import pytest

from sendflow.transforms.common import SOURCE_ROW, SourceError, SourceInfo
from sendflow.transforms.la_ehcp import (
    AGE_CASELOAD_2022,
    CASELOAD_2025,
    COLUMNS,
    ESTAB_CASELOAD_2022,
    FCT_COLUMNS,
    LAYOUTS,
    NEWPLANS_2025,
    REQUESTS_2025,
    SEN2_MI_CAMEL,
    SEN2_MI_SNAKE,
    SEN_NEEDS_2025,
    SETTINGS_2025,
    SHAPES,
    build,
    fct_la_ehcp,
    la_ehcp_observation,
)


def raw(columns: Mapping[str, Sequence[str | None]]) -> pl.DataFrame:
    """A frame as the intake reads it: text columns plus the source row number (the header is row 1)."""
    frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))
    return frame.with_row_index(SOURCE_ROW, offset=2).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


def source(layout: str) -> SourceInfo:
    return SourceInfo(layout=layout, source_name="file.csv")


def values(frame: pl.DataFrame, **where: object) -> dict[str, float | None]:
    """breakdown -> value of the rows matching `where` (one measure, LA and year)."""
    rows = frame.filter(*[pl.col(k) == v for k, v in where.items()])
    return dict(zip(rows["breakdown"].to_list(), rows["value"].to_list(), strict=True))


def caseload_2025() -> pl.DataFrame:
    # Shaped like caseload.csv: new_la_code before old_la_code, a BOM-free header, 'x' for unavailable.
    n = 8
    return raw(
        {
            "time_period": ["202425"] * 7 + ["201819"],
            "time_identifier": ["Academic year"] * n,
            "geographic_level": ["National", "Regional", "Local authority", "Local authority", "Local authority",
                                 "Local authority", "Local authority", "Local authority"],
            "region_code": [None, "E12000007", "E12000007", "E12000007", "E12000007", "E12000007", "E12000007",
                            "E12000007"],
            "new_la_code": [None, None, "E09000001", "E09000001", "E09000001", "E09000001", "E09000001", "E09000007"],
            "old_la_code": [None, None, "201", "201", "201", "201", "201", "202"],
            "breakdown_topic": ["All EHC plans", "All EHC plans", "All EHC plans", "Child or young persons age",
                                "Age when plan started", "Years EHC plan in place", "Ethnicity", "All EHC plans"],
            "breakdown": ["All EHC plans", "All EHC plans", "All EHC plans", "under 3", "age 20 and over",
                          "12 or more", "Asian - Any other Asian background", "All EHC plans"],
            "ehcplans": ["638745", "99000", "31", "2", "1", "3", "4", "1500"],
            "mainstream_total": ["278236", "40000", "10", "1", "1", "1", "1", "600"],
            "special_total": ["160000", "30000", "15", "1", "0", "1", "2", "700"],
            "placement_unknown": ["19339", "900", "x", "x", "x", "x", "x", "x"],
        }
    )  # fmt: skip


def test_caseload_2025_has_the_contract_columns_and_sets_regions_aside() -> None:
    frame = la_ehcp_observation(caseload_2025(), source(CASELOAD_2025.name))

    assert tuple(frame.columns) == COLUMNS
    assert set(frame["la_code"]) == {"ENG", "201", "202"}
    assert 3 not in frame[SOURCE_ROW].to_list()  # the regional row
    assert frame["source_table"].unique().to_list() == ["caseload"]
    assert frame["source_layout"].unique().to_list() == [CASELOAD_2025.name]


def test_caseload_2025_academic_year_periods_are_their_january_and_the_release_is_the_latest() -> None:
    frame = la_ehcp_observation(caseload_2025(), source(CASELOAD_2025.name))

    assert frame.filter(pl.col("la_code") == "202")["calendar_year"].unique().to_list() == [2019]
    assert frame.filter(pl.col("la_code") == "201")["calendar_year"].unique().to_list() == [2025]
    assert frame["release"].unique().to_list() == [2025]


def test_caseload_2025_settings_come_from_the_all_plans_row_only() -> None:
    frame = la_ehcp_observation(caseload_2025(), source(CASELOAD_2025.name))

    la = values(frame, la_code="201", measure="caseload")
    assert la == {
        "total": 31.0,
        "setting:mainstream": 10.0,
        "setting:special": 15.0,
        "setting:not_recorded": None,
        "age:0-2": 2.0,
        "age_at_start:20+": 1.0,
        "years_in_place:12+": 3.0,
        "ethnicity:asian_any_other_asian_background": 4.0,
    }
    # Placement columns the file does not publish produce no rows (not rows marked 'x').
    assert frame.filter(pl.col("breakdown") == "setting:mainstream_academy").is_empty()


def test_caseload_2025_symbols_become_null_with_their_status() -> None:
    frame = la_ehcp_observation(caseload_2025(), source(CASELOAD_2025.name))

    unknown = frame.filter(pl.col("breakdown") == "setting:not_recorded").sort(SOURCE_ROW)
    assert unknown["la_code"].to_list() == ["ENG", "201", "202"]
    assert unknown["value"].to_list() == [19339.0, None, None]
    assert unknown["value_status"].to_list() == [None, "x", "x"]


def test_column_order_of_old_and_new_la_code_does_not_matter() -> None:
    published = caseload_2025()
    swapped = published.select(
        SOURCE_ROW, *[c for c in published.columns if c not in (SOURCE_ROW, "new_la_code")], "new_la_code"
    )

    expected = la_ehcp_observation(published, source(CASELOAD_2025.name))
    assert la_ehcp_observation(swapped, source(CASELOAD_2025.name)).equals(expected)
    assert "E09000001" not in expected["la_code"].to_list()


def newplans_2025() -> pl.DataFrame:
    return raw(
        {
            "time_period": ["2024", "2024", "2023", "2024"],
            "geographic_level": ["National", "Local authority", "Local authority", "Local authority"],
            "old_la_code": [None, "201", "201", "201"],
            "breakdown_topic": ["New EHC plans", "New EHC plans", "New EHC plans", "Sex"],
            "breakdown": ["New EHC plans", "New EHC plans", "New EHC plans", "Female"],
            "new_ehc_plans": ["97747", "9", "7", "3"],
            "mainstream_total": ["73369", "5", "4", "2"],
            "special_total": ["9064", "4", "3", "1"],
        }
    )


def test_activity_files_keep_their_calendar_year_and_are_released_the_year_after() -> None:
    frame = la_ehcp_observation(newplans_2025(), source(NEWPLANS_2025.name))

    assert sorted(frame["calendar_year"].unique().to_list()) == [2023, 2024]
    assert frame["release"].unique().to_list() == [2025]
    assert values(frame, la_code="201", calendar_year=2024, measure="new_plans") == {
        "total": 9.0,
        "setting:mainstream": 5.0,
        "setting:special": 4.0,
        "sex:female": 3.0,
    }


def requests_2025() -> pl.DataFrame:
    return raw(
        {
            "time_period": ["2024", "2024", "2024", "2024"],
            "geographic_level": ["Local authority"] * 4,
            "old_la_code": ["201", "201", "201", "201"],
            "breakdown_topic": ["All requests for EHC needs assessments", "Child or young persons age",
                                "Child or young persons age", "Child or young persons age"],
            "breakdown": ["All requests for EHC needs assessments", "Aged 2 and under", "Aged 20 and over",
                          "Age unknown"],
            "requests_received_in_year": ["40", "5", "3", "1"],
            "requests_decided_to_assess": ["25", "4", "2", "1"],
            "requests_decided_not_to_assess": ["10", "1", "1", "0"],
            "request_assess_pc": ["62.5", "80", "66.7", "100"],
        }
    )  # fmt: skip


def test_requests_outcomes_are_loaded_for_all_requests_only() -> None:
    frame = la_ehcp_observation(requests_2025(), source(REQUESTS_2025.name))

    assert values(frame, measure="requests") == {"total": 40.0, "age:0-2": 5.0, "age:20+": 3.0, "age:unknown": 1.0}
    assert values(frame, measure="requests_agreed") == {"total": 25.0}
    assert values(frame, measure="requests_refused") == {"total": 10.0}
    # Percentages are ratios of loaded counts: not loaded.
    assert frame.filter(pl.col("value") == 62.5).is_empty()


def test_needs_are_loaded_for_all_plans_only_and_their_total_is_left_to_caseload() -> None:
    frame = raw(
        {
            "time_period": ["202425", "202425"],
            "geographic_level": ["Local authority", "Local authority"],
            "old_la_code": ["201", "201"],
            "breakdown_topic": ["All EHC plans", "Sex"],
            "breakdown": ["All EHC plans", "Male"],
            "ehc_plans": ["31", "20"],
            "number_asd": ["10", "8"],
            "number_semh": ["6", "5"],
            "number_slcn": ["5", "4"],
            "number_need_unknown": ["x", "x"],
        }
    )

    needs = la_ehcp_observation(frame, source(SEN_NEEDS_2025.name))

    assert values(needs, measure="caseload") == {
        "need:ASD": 10.0,
        "need:SEMH": 6.0,
        "need:SLCN": 5.0,
        "need:unknown": None,
    }
    assert needs["source_table"].unique().to_list() == ["sen_needs_all_plans"]
    assert needs["release"].unique().to_list() == [2025]


def age_caseload_2022() -> pl.DataFrame:
    # Shaped like sen2_age_caseload.csv: old then new LA code, "" geography on the national rows, z.
    return raw(
        {
            "time_period": ["2022", "2022", "2010", "2022"],
            "geographic_level": ["National", "Local authority", "Local authority", "Local authority"],
            "old_la_code": ["", "202", "202", "202"],
            "new_la_code": ["", "E09000007", "E09000007", "E09000007"],
            "characteristic_age": ["Total", "Total", "Total", "Under 5"],
            "Total_st": ["z", "z", "1200", "z"],
            "Total_st_pc": ["z", "z", "100", "z"],
            "Total_ehc": ["473255", "1400", "z", "60"],
            "Total_ehc_pc": ["100", "100", "z", "4.28571"],
            "Total_all": ["473255", "1400", "1200", "60"],
        }
    )


def test_age_caseload_2022_loads_plans_and_statements_by_band() -> None:
    frame = la_ehcp_observation(age_caseload_2022(), source(AGE_CASELOAD_2022.name))

    assert frame["release"].unique().to_list() == [2022]  # the latest January it counts
    assert values(frame, la_code="202", calendar_year=2022, measure="caseload") == {"total": 1400.0, "age:0-4": 60.0}
    statements_2010 = frame.filter(pl.col("measure") == "statements", pl.col("calendar_year") == 2010)
    assert statements_2010["value"].to_list() == [1200.0]
    not_applicable = frame.filter(pl.col("measure") == "caseload", pl.col("calendar_year") == 2010)
    assert (not_applicable["value"].to_list(), not_applicable["value_status"].to_list()) == ([None], ["z"])
    assert frame.filter(pl.col("la_code") == "ENG")["value"].drop_nulls().to_list() == [473255.0]


def test_estab_caseload_2022_maps_establishments_and_sets_repeated_group_rows_aside() -> None:
    groups = ["Total", "Special school", "Special school", "NEET", "NEET", "Other", "Mainstream school"]
    types = ["Total", "Total", "Special - LA maintained", "Total", "NEET", "Other", "Mainstream - Future type"]
    frame = raw(
        {
            "time_period": ["2022"] * 7,
            "geographic_level": ["Local authority"] * 7,
            "old_la_code": ["202"] * 7,
            "establishment_type": types,
            "establishment_group": groups,
            "Total_st": ["z"] * 7,
            "Total_ehc": ["1400", "500", "450", "30", "30", "12", "5"],
            "Total_all": ["1400", "500", "450", "30", "30", "12", "5"],
        }
    )

    observed = la_ehcp_observation(frame, source(ESTAB_CASELOAD_2022.name))

    assert values(observed, measure="caseload") == {
        "total": 1400.0,
        "setting:special": 500.0,
        "setting:special_la_maintained_legacy": 450.0,  # excludes hospital schools, unlike 2025's
        "setting:neet": 30.0,
        "setting:other_placement_settings": 12.0,  # type 'Other' repeats group 'Other' without a Total
        "setting:mainstream_future_type": 5.0,  # a type this code does not know keeps its own name
    }
    assert 6 not in observed[SOURCE_ROW].to_list()  # NEET/NEET repeats NEET/Total


def sen2_mi(camel: bool) -> pl.DataFrame:
    """The same two rows in the 2022 release's CamelCase and the later releases' snake_case."""
    names = {
        "NewallEHC": "new_all_ehc",
        "InreqEHC": "inreq_ehc",
        "AssRefusedEHC": "ass_refused_ehc",
        "AssnoneEHC": "ass_none_ehc",
        "TotIncExcEHC": "tot_inc_exc_ehc",
        "IncExc20weekEHC": "inc_exc_20week_ehc",
        "IncExc20weekRate": "inc_exc_20week_rate",
        "DisleaEHC": "discontinued_lea_ehc",
        "DirectPayHealth": "direct_pay_health",
    }
    data = {
        "time_period": ["2021", "2021"],
        "geographic_level": ["National", "Local authority"],
        "old_la_code": ["", "382"],
        "NewallEHC": ["62180", "180"],
        "InreqEHC": ["93302", "z"],
        "AssRefusedEHC": ["20830", "40"],
        "AssnoneEHC": ["3903", "12"],
        "TotIncExcEHC": ["61269", "150"],
        "IncExc20weekEHC": ["35470", "129"],
        "IncExc20weekRate": ["57.900000000000", "86.000000000000"],
        "DisleaEHC": ["7249", "x"],
        "DirectPayHealth": ["548", ""],
    }
    return raw(data if camel else {names.get(k, k): v for k, v in data.items()})


def test_sen2_mi_spellings_give_the_same_observations() -> None:
    camel = la_ehcp_observation(sen2_mi(camel=True), source(SEN2_MI_CAMEL.name))
    snake = la_ehcp_observation(sen2_mi(camel=False), source(SEN2_MI_SNAKE.name))

    assert camel.drop("source_layout").equals(snake.drop("source_layout"))
    assert camel["release"].unique().to_list() == [2022]  # calendar year 2021 + 1
    assert camel["source_table"].unique().to_list() == ["sen2_mi"]
    la = camel.filter(pl.col("la_code") == "382")
    by_measure = {(r["measure"], r["breakdown"]): (r["value"], r["value_status"]) for r in la.iter_rows(named=True)}
    assert by_measure == {
        ("new_plans", "total"): (180.0, None),
        ("requests", "total"): (None, "z"),
        ("requests_refused", "total"): (40.0, None),
        ("assessments_not_issued", "total"): (12.0, None),
        ("plans_issued_incl_exceptions", "total"): (150.0, None),
        ("plans_issued_within_20_weeks_incl_exceptions", "total"): (129.0, None),
        ("plans_ceased", "reason:transferred_to_another_la"): (None, "x"),
        ("personal_budgets", "direct_payment:health"): (None, "x"),  # an empty cell
    }


def test_thousands_separators_read_and_junk_is_marked_invalid() -> None:
    frame = newplans_2025().with_columns(pl.Series("new_ehc_plans", ["97,747", "abc", "7", "-3"]))

    observed = la_ehcp_observation(frame, source(NEWPLANS_2025.name)).filter(pl.col("measure") == "new_plans")

    totals = observed.filter(pl.col("breakdown") != "setting:mainstream", pl.col("breakdown") != "setting:special")
    assert totals.sort(SOURCE_ROW)["value"].to_list() == [97747.0, None, 7.0, -3.0]
    assert totals.sort(SOURCE_ROW)["value_status"].to_list() == [None, "invalid:abc", None, None]


def test_an_la_row_that_repeats_its_region_total_is_flagged() -> None:
    # The 2025 newplans.csv gives every Yorkshire LA the region's 2022 total (6,078).
    def frame(la_values: list[str]) -> pl.DataFrame:
        return raw(
            {
                "time_period": ["2022"] * 4,
                "geographic_level": ["Regional", "Local authority", "Local authority", "Local authority"],
                "region_code": ["E12000003"] * 4,
                "old_la_code": [None, "370", "371", "372"],
                "breakdown_topic": ["New EHC plans"] * 4,
                "breakdown": ["New EHC plans"] * 4,
                "new_ehc_plans": ["6078", *la_values],
                "mainstream_total": ["4194", "100", "0", "0"],
                "special_total": ["476", "50", "0", "0"],
            }
        )

    copied = la_ehcp_observation(frame(["6078", "6078", "6078"]), source(NEWPLANS_2025.name))
    alone = la_ehcp_observation(frame(["6078", "0", "0"]), source(NEWPLANS_2025.name))

    flagged = copied.filter(~pl.col("not_region_total_copy"))
    assert flagged["measure"].unique().to_list() == ["new_plans"]
    assert flagged["breakdown"].unique().to_list() == ["total"]
    assert sorted(flagged["la_code"].to_list()) == ["370", "371", "372"]
    # One LA holding all of its region's plans is no copy: the region's LAs add up to its total.
    assert alone["not_region_total_copy"].all()
    assert "region_code" not in copied.columns and copied.height == alone.height


def test_a_file_whose_time_period_gives_no_year_cannot_tell_its_release() -> None:
    frame = newplans_2025().with_columns(pl.lit("next year").alias("time_period"))

    with pytest.raises(SourceError, match="release"):
        la_ehcp_observation(frame, source(NEWPLANS_2025.name))


def test_a_file_of_regional_rows_only_gives_no_rows() -> None:
    frame = newplans_2025().with_columns(pl.lit("Regional").alias("geographic_level"))

    observed = la_ehcp_observation(frame, source(NEWPLANS_2025.name))

    assert observed.is_empty() and tuple(observed.columns) == COLUMNS


def test_missing_required_column_and_unknown_layout_are_refused() -> None:
    with pytest.raises(SourceError, match="new_ehc_plans"):
        la_ehcp_observation(newplans_2025().drop("new_ehc_plans"), source(NEWPLANS_2025.name))
    with pytest.raises(ValueError, match="no layout"):
        la_ehcp_observation(newplans_2025(), source("nonsense"))


def test_every_loaded_column_is_a_layout_column_so_quarantine_records_show_it() -> None:
    for layout in LAYOUTS:
        assert {v.column for v in SHAPES[layout.name].values} <= set(layout.columns), layout.name
    assert len({layout.name for layout in LAYOUTS}) == len(SHAPES) == 8


def test_every_2025_placement_column_has_a_distinct_setting() -> None:
    assert len(set(SETTINGS_2025.values())) == len(SETTINGS_2025)
    assert all(b.startswith("setting:") for b in SETTINGS_2025.values())


def test_build_returns_the_observation_table() -> None:
    tables = build(newplans_2025(), source(NEWPLANS_2025.name))

    assert list(tables) == ["la_ehcp_observation"]
    assert tables["la_ehcp_observation"].height == 10


def observation(
    la_code: str, year: int, value: float, release: int, table: str, load_id: int, breakdown: str = "total"
) -> dict[str, object]:
    return {
        "la_code": la_code,
        "calendar_year": year,
        "measure": "caseload",
        "breakdown": breakdown,
        "value": value,
        "value_status": None,
        "release": release,
        "source_table": table,
        "source_layout": "x",
        SOURCE_ROW: 2,
        "load_id": load_id,
    }


def test_fct_keeps_the_newest_release_whatever_the_load_order() -> None:
    rows = [
        observation("ENG", 2024, 575_963, 2024, "caseload", load_id=1),
        observation("ENG", 2024, 576_474, 2025, "caseload", load_id=2),
        observation("ENG", 2018, 285_722, 2022, "sen2_age_caseload", load_id=3),
    ]
    forward, backward = pl.DataFrame(rows), pl.DataFrame(rows[::-1])

    fact = fct_la_ehcp(forward)

    assert tuple(fact.columns) == FCT_COLUMNS
    assert fact.equals(fct_la_ehcp(backward))
    assert fact.rows() == [
        ("ENG", 2018, "caseload", "total", 285_722.0, None, 2022, "sen2_age_caseload", 2, 3),
        ("ENG", 2024, "caseload", "total", 576_474.0, None, 2025, "caseload", 2, 2),
    ]


def test_fct_prefers_the_age_table_to_the_establishment_table_within_a_release() -> None:
    # The 2022 release's two tables disagree for January 2018; the age table gives the headline figure.
    rows = [
        observation("ENG", 2018, 279_511, 2022, "sen2_estab_caseload", load_id=2),
        observation("ENG", 2018, 285_722, 2022, "sen2_age_caseload", load_id=1),
    ]

    for ordered in (rows, rows[::-1]):
        fact = fct_la_ehcp(pl.DataFrame(ordered))
        assert fact["value"].to_list() == [285_722.0]
        assert fact["source_table"].to_list() == ["sen2_age_caseload"]


def test_fct_keeps_breakdowns_only_older_releases_publish() -> None:
    rows = [
        observation("202", 2019, 14.0, 2022, "sen2_age_caseload", load_id=1, breakdown="age:0-4"),
        observation("202", 2019, 3.0, 2025, "caseload", load_id=2, breakdown="age:3"),
    ]

    fact = fct_la_ehcp(pl.DataFrame(rows))

    assert dict(zip(fact["breakdown"], fact["release"], strict=True)) == {"age:0-4": 2022, "age:3": 2025}


def test_foreign_digits_and_impossible_numbers_are_invalid_not_null_or_a_crash() -> None:
    frame = newplans_2025().with_columns(
        pl.Series("new_ehc_plans", ["٩٧٧٤٧", "inf", "1e400", "99999999999999999999999"])
    )

    observed = la_ehcp_observation(frame, source(NEWPLANS_2025.name)).filter(
        ~pl.col("breakdown").str.starts_with("setting:")
    )

    assert observed.sort(SOURCE_ROW)["value"].to_list() == [None] * 4
    assert observed.sort(SOURCE_ROW)["value_status"].to_list() == [
        "invalid:٩٧٧٤٧", "invalid:inf", "invalid:1e400", "invalid:99999999999999999999999",
    ]  # fmt: skip


def test_every_layout_types_exactly_the_columns_it_loads() -> None:
    for layout in LAYOUTS:
        loaded = {value.column for value in SHAPES[layout.name].values}
        assert {column for column, _ in layout.cells} == loaded, layout.name
