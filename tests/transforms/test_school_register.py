"""The school register: perf-tables and GIAS snapshots, the type-2 dim_school and dim_trust."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from sendflow.transforms.common import INVALID_CELLS, SOURCE_ROW, SourceInfo
from sendflow.transforms.school_dimensions import DIM_SCHOOL_COLUMNS, dim_school, dim_trust
from sendflow.transforms.school_register import (
    GIAS_ESTABLISHMENTS,
    PERF_SCHOOL_INFORMATION,
    SNAPSHOT_COLUMNS,
    build,
    school_register_snapshot,
)


def raw(columns: dict[str, list[str | None]]) -> pl.DataFrame:
    """A frame as the intake reads it: text columns plus the source row number (the header is row 1)."""
    frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))
    return frame.with_row_index(SOURCE_ROW, offset=2).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


def rows_to_raw(rows: list[dict[str, str | None]]) -> pl.DataFrame:
    return raw({column: [row[column] for row in rows] for column in rows[0]})


PERF_HEADER = (
    "URN", "LANAME", "LA", "ESTAB", "LAESTAB", "SCHNAME", "SCHSTATUS", "OPENDATE", "CLOSEDATE", "MINORGROUP",
    "SCHOOLTYPE", "ISPRIMARY", "ISSECONDARY", "ISPOST16", "AGELOW", "AGEHIGH",
)  # fmt: skip


def perf_rows(*rows: tuple[str | None, ...]) -> pl.DataFrame:
    return rows_to_raw([dict(zip(PERF_HEADER, row, strict=True)) for row in rows])


def perf_register() -> pl.DataFrame:
    return perf_rows(
        ("100000", "City of London", "201", "3614", "2013614", "The Aldgate School", "Open", None, None,
         "Maintained school", "Voluntary aided school", "1", "0", "0", "3", "11"),
        ("100001", "City of London", "201", "6005", "2016005", "City of London School for Girls",
         "Open, but proposed to close", "01-09-1920", None, "Independent school", "Other independent school",
         "1", "1", "1", "7", "18"),
        ("100002", "Camden", "202", "4000", "2024000", "Camden Secondary", "Closed", "01-09-2010", "31-08-2023",
         "Academy", "Academy converter", "0", "1", "1", "11", "18"),
        ("100003", "Camden", "202", "4001", "2024001", "Camden Sixth Form", "Open", "15/01/2015", None,
         "College", "Sixth form centres", "0", "0", "1", "16", "19"),
        ("100004", "Camden", "202", "1100", "2021100", "Camden PRU", "Proposed to open", None, None,
         "Maintained school", "Pupil referral unit", "0", "0", "0", None, None),
    )  # fmt: skip


PERF_2023_24 = SourceInfo(
    layout=PERF_SCHOOL_INFORMATION.name, source_name="england_school_information_2023-24.csv", academic_year="2023/24"
)


def test_perf_register_has_the_snapshot_columns() -> None:
    snapshot = school_register_snapshot(perf_register(), PERF_2023_24)
    assert tuple(snapshot.columns) == SNAPSHOT_COLUMNS
    assert snapshot[SOURCE_ROW].to_list() == [2, 3, 4, 5, 6]


def test_perf_register_snapshot_date_is_1_september_of_the_academic_year() -> None:
    snapshot = school_register_snapshot(perf_register(), PERF_2023_24)
    assert snapshot["snapshot_date"].unique().to_list() == [date(2023, 9, 1)]


def test_perf_register_snapshot_date_from_the_source_wins_over_the_year() -> None:
    source = SourceInfo(
        layout=PERF_SCHOOL_INFORMATION.name,
        source_name="x.csv",
        academic_year="2023/24",
        snapshot_date=date(2024, 1, 5),
    )
    assert school_register_snapshot(perf_register(), source)["snapshot_date"].unique().to_list() == [date(2024, 1, 5)]


def test_perf_register_without_a_year_raises() -> None:
    source = SourceInfo(layout=PERF_SCHOOL_INFORMATION.name, source_name="england_school_information.csv")
    with pytest.raises(ValueError, match="academic year is required"):
        school_register_snapshot(perf_register(), source)


def test_perf_register_phase_comes_from_the_flags() -> None:
    snapshot = school_register_snapshot(perf_register(), PERF_2023_24)
    assert snapshot["phase"].to_list() == ["Primary", "All-through", "Secondary", "16 plus", "Not applicable"]


def test_perf_register_open_statuses() -> None:
    snapshot = school_register_snapshot(perf_register(), PERF_2023_24)
    assert snapshot["school_status"].to_list()[1] == "Open, but proposed to close"
    assert snapshot["is_open"].to_list() == [True, True, False, True, False]


def test_perf_register_codes_names_and_dates() -> None:
    snapshot = school_register_snapshot(perf_register(), PERF_2023_24)
    assert snapshot["laestab"].to_list()[2] == "2024000"
    assert snapshot["la_code"].to_list() == ["201", "201", "202", "202", "202"]
    assert snapshot["estab"].to_list()[0] == "3614"
    assert snapshot["school_name"].to_list()[0] == "The Aldgate School"
    assert snapshot["establishment_type"].to_list()[2] == "Academy converter"
    assert snapshot["establishment_group"].to_list()[2] == "Academy"
    assert snapshot["open_date"].to_list() == [None, date(1920, 9, 1), date(2010, 9, 1), date(2015, 1, 15), None]
    assert snapshot["close_date"].to_list() == [None, None, date(2023, 8, 31), None, None]
    assert snapshot["statutory_low_age"].to_list() == [3, 7, 11, 16, None]
    assert snapshot["statutory_high_age"].to_list() == [11, 18, 18, 19, None]


def test_perf_register_says_nothing_about_trusts() -> None:
    snapshot = school_register_snapshot(perf_register(), PERF_2023_24)
    assert not snapshot["has_trust_info"].any()
    assert snapshot["trust_id"].null_count() == snapshot.height
    assert snapshot["source_layout"].unique().to_list() == [PERF_SCHOOL_INFORMATION.name]


GIAS_HEADER = (
    "URN", "LA (code)", "LA (name)", "EstablishmentNumber", "EstablishmentName", "TypeOfEstablishment (name)",
    "EstablishmentTypeGroup (name)", "EstablishmentStatus (name)", "OpenDate", "CloseDate",
    "PhaseOfEducation (name)", "StatutoryLowAge", "StatutoryHighAge", "TrustSchoolFlag (name)", "Trusts (code)",
    "Trusts (name)", "LastChangedDate",
)  # fmt: skip

# Defaults for one GIAS establishment; tests override what they are about.
MAINTAINED = {
    "URN": "100000", "LA (code)": "201", "LA (name)": "City of London", "EstablishmentNumber": "3614",
    "EstablishmentName": "The Aldgate School", "TypeOfEstablishment (name)": "Voluntary aided school",
    "EstablishmentTypeGroup (name)": "Local authority maintained schools", "EstablishmentStatus (name)": "Open",
    "OpenDate": None, "CloseDate": None, "PhaseOfEducation (name)": "Primary", "StatutoryLowAge": "3",
    "StatutoryHighAge": "11", "TrustSchoolFlag (name)": "Not applicable", "Trusts (code)": None,
    "Trusts (name)": None, "LastChangedDate": "12-03-2024",
}  # fmt: skip
ACADEMY = {
    **MAINTAINED,
    "URN": "137000", "LA (code)": "330", "LA (name)": "Birmingham", "EstablishmentNumber": "4001",
    "EstablishmentName": "Oak Academy", "TypeOfEstablishment (name)": "Academy converter",
    "EstablishmentTypeGroup (name)": "Academies", "OpenDate": "01-09-2011", "PhaseOfEducation (name)": "Secondary",
    "StatutoryLowAge": "11", "StatutoryHighAge": "18", "TrustSchoolFlag (name)": "Supported by a multi-academy trust",
    "Trusts (code)": "2044", "Trusts (name)": "Oak Trust", "LastChangedDate": "05-04-2024",
}  # fmt: skip
SINGLE_ACADEMY = {
    **ACADEMY,
    "URN": "137001", "EstablishmentNumber": "4002", "EstablishmentName": "Elm Academy",
    "TrustSchoolFlag (name)": "Supported by a single-academy trust", "Trusts (code)": "3001",
    "Trusts (name)": "Elm Academy Trust", "LastChangedDate": "01-02-2024",
}  # fmt: skip


def gias(*rows: dict[str, str | None]) -> pl.DataFrame:
    return rows_to_raw([{column: row[column] for column in GIAS_HEADER} for row in rows])


def gias_source(snapshot_date: date | None) -> SourceInfo:
    return SourceInfo(layout=GIAS_ESTABLISHMENTS.name, source_name="edubasealldata.csv", snapshot_date=snapshot_date)


def test_gias_snapshot_has_the_snapshot_columns() -> None:
    snapshot = school_register_snapshot(gias(MAINTAINED, ACADEMY), gias_source(date(2024, 4, 22)))
    assert tuple(snapshot.columns) == SNAPSHOT_COLUMNS
    assert snapshot["source_layout"].unique().to_list() == [GIAS_ESTABLISHMENTS.name]


def test_gias_codes_and_attributes() -> None:
    snapshot = school_register_snapshot(gias(MAINTAINED, ACADEMY), gias_source(date(2024, 4, 22)))
    assert snapshot["urn"].to_list() == ["100000", "137000"]
    assert snapshot["laestab"].to_list() == ["2013614", "3304001"]
    assert snapshot["la_code"].to_list() == ["201", "330"]
    assert snapshot["estab"].to_list() == ["3614", "4001"]
    assert snapshot["establishment_group"].to_list() == ["Local authority maintained schools", "Academies"]
    assert snapshot["phase"].to_list() == ["Primary", "Secondary"]
    assert snapshot["open_date"].to_list() == [None, date(2011, 9, 1)]
    assert snapshot["statutory_high_age"].to_list() == [11, 18]
    assert snapshot["is_open"].to_list() == [True, True]


def test_gias_trust_membership_and_type() -> None:
    snapshot = school_register_snapshot(gias(MAINTAINED, ACADEMY, SINGLE_ACADEMY), gias_source(date(2024, 4, 22)))
    assert snapshot["trust_id"].to_list() == [None, "2044", "3001"]
    assert snapshot["trust_name"].to_list() == [None, "Oak Trust", "Elm Academy Trust"]
    assert snapshot["trust_type"].to_list() == [None, "Multi-academy trust", "Single-academy trust"]
    assert snapshot["has_trust_info"].all()


def test_gias_snapshot_date_comes_from_the_source() -> None:
    snapshot = school_register_snapshot(gias(MAINTAINED, ACADEMY), gias_source(date(2024, 4, 22)))
    assert snapshot["snapshot_date"].unique().to_list() == [date(2024, 4, 22)]


def test_gias_snapshot_date_falls_back_to_the_latest_last_changed_date() -> None:
    snapshot = school_register_snapshot(gias(MAINTAINED, ACADEMY, SINGLE_ACADEMY), gias_source(None))
    # Latest of 12-03-2024, 05-04-2024 and 01-02-2024, compared as dates rather than as DD-MM text.
    assert snapshot["snapshot_date"].unique().to_list() == [date(2024, 4, 5)]


def test_gias_without_any_date_raises() -> None:
    frame = gias({**MAINTAINED, "LastChangedDate": None})
    with pytest.raises(ValueError, match="cannot date this GIAS extract"):
        school_register_snapshot(frame, gias_source(None))


def test_gias_extract_without_trust_columns_says_nothing_about_trusts() -> None:
    frame = gias(ACADEMY).drop("Trusts (code)", "Trusts (name)", "TrustSchoolFlag (name)")
    snapshot = school_register_snapshot(frame, gias_source(date(2024, 4, 22)))
    assert snapshot["has_trust_info"].to_list() == [False]
    assert snapshot["trust_id"].to_list() == [None]


def test_unknown_register_layout_raises() -> None:
    with pytest.raises(ValueError, match="no layout"):
        school_register_snapshot(perf_register(), SourceInfo(layout="nonsense", source_name="x.csv"))


def test_build_returns_the_snapshot_table() -> None:
    assert list(build(perf_register(), PERF_2023_24)) == ["school_register_snapshot"]


def gias_snapshot(on: date, *rows: dict[str, str | None]) -> pl.DataFrame:
    return school_register_snapshot(gias(*rows), gias_source(on))


APRIL_2023, APRIL_2024 = date(2023, 4, 21), date(2024, 4, 22)


def versions(dim: pl.DataFrame, urn: str) -> pl.DataFrame:
    return dim.filter(pl.col("urn") == urn).sort("valid_from")


def test_dim_school_has_its_columns() -> None:
    dim = dim_school(gias_snapshot(APRIL_2023, MAINTAINED))
    assert tuple(dim.columns) == DIM_SCHOOL_COLUMNS


def test_dim_school_trust_change_opens_a_second_version() -> None:
    moved = {**ACADEMY, "Trusts (code)": "2050", "Trusts (name)": "Birch Trust"}
    dim = dim_school(pl.concat([gias_snapshot(APRIL_2023, ACADEMY), gias_snapshot(APRIL_2024, moved)]))
    history = versions(dim, "137000")
    assert history["trust_id"].to_list() == ["2044", "2050"]
    assert history["valid_from"].to_list() == [APRIL_2023, APRIL_2024]
    assert history["valid_to"].to_list() == [APRIL_2024, None]
    assert history["is_current"].to_list() == [False, True]


def test_dim_school_unchanged_school_keeps_one_version() -> None:
    moved = {**ACADEMY, "Trusts (code)": "2050", "Trusts (name)": "Birch Trust"}
    snapshots = pl.concat(
        [gias_snapshot(APRIL_2023, MAINTAINED, ACADEMY), gias_snapshot(APRIL_2024, MAINTAINED, moved)]
    )
    history = versions(dim_school(snapshots), "100000")
    assert history.height == 1
    assert history["valid_from"].to_list() == [APRIL_2023]
    assert history["valid_to"].to_list() == [None]
    assert history["is_current"].to_list() == [True]


def test_dim_school_does_not_depend_on_snapshot_order() -> None:
    moved = {**ACADEMY, "Trusts (code)": "2050"}
    first, second = gias_snapshot(APRIL_2023, ACADEMY), gias_snapshot(APRIL_2024, moved)
    in_order = dim_school(pl.concat([first, second])).sort("urn", "valid_from")
    reversed_order = dim_school(pl.concat([second, first])).sort("urn", "valid_from")
    assert in_order.equals(reversed_order)


def test_dim_school_leaving_a_trust_in_gias_ends_membership() -> None:
    left = {**ACADEMY, "Trusts (code)": None, "Trusts (name)": None, "TrustSchoolFlag (name)": "Not applicable"}
    history = versions(
        dim_school(pl.concat([gias_snapshot(APRIL_2023, ACADEMY), gias_snapshot(APRIL_2024, left)])), "137000"
    )
    assert history["trust_id"].to_list() == ["2044", None]
    assert history["is_current"].to_list() == [False, True]


def perf_academy(snapshot_on: date, name: str = "Oak Academy") -> pl.DataFrame:
    # The same academy as ACADEMY, as the perf tables would describe it (no trust columns).
    frame = perf_rows(
        ("137000", "Birmingham", "330", "4001", "3304001", name, "Open", "01-09-2011", None, "Academies",
         "Academy converter", "0", "1", "1", "11", "18"),
    )  # fmt: skip
    source = SourceInfo(layout=PERF_SCHOOL_INFORMATION.name, source_name="x.csv", snapshot_date=snapshot_on)
    return school_register_snapshot(frame, source)


def test_dim_school_perf_snapshot_keeps_the_last_known_trust() -> None:
    # establishment_group is spelt as GIAS does so that only the trust information differs.
    snapshots = pl.concat([gias_snapshot(APRIL_2023, ACADEMY), perf_academy(date(2023, 9, 1))])
    history = versions(dim_school(snapshots), "137000")
    assert history.height == 1
    assert history["trust_id"].to_list() == ["2044"]
    assert history["is_current"].to_list() == [True]


def test_dim_school_new_version_from_a_perf_snapshot_carries_the_trust_forward() -> None:
    snapshots = pl.concat([gias_snapshot(APRIL_2023, ACADEMY), perf_academy(date(2023, 9, 1), "Oak Park Academy")])
    history = versions(dim_school(snapshots), "137000")
    assert history["school_name"].to_list() == ["Oak Academy", "Oak Park Academy"]
    assert history["trust_id"].to_list() == ["2044", "2044"]
    assert history["valid_to"].to_list() == [date(2023, 9, 1), None]


def test_dim_school_unchanged_academy_keeps_one_version_across_gias_and_perf_snapshots() -> None:
    frame = perf_rows(
        ("137000", "Birmingham", "330", "4001", "3304001", "Oak Academy", "Open", "01-09-2011", None, "Academy",
         "Academy converter", "0", "1", "1", "11", "18"),
    )  # fmt: skip
    perf = school_register_snapshot(
        frame, SourceInfo(layout=PERF_SCHOOL_INFORMATION.name, source_name="x.csv", academic_year="2023/24")
    )
    history = versions(dim_school(pl.concat([gias_snapshot(APRIL_2023, ACADEMY), perf])), "137000")
    assert history.height == 1


def test_dim_school_of_no_snapshots_is_an_empty_typed_frame() -> None:
    empty = school_register_snapshot(perf_register(), PERF_2023_24).clear()
    dim = dim_school(empty)
    assert dim.is_empty()
    assert tuple(dim.columns) == DIM_SCHOOL_COLUMNS
    assert dim.schema["valid_from"] == pl.Date
    assert dim.schema["is_current"] == pl.Boolean


def test_dim_trust_takes_the_latest_name_and_type() -> None:
    renamed = {**ACADEMY, "Trusts (name)": "Oak Academies Trust"}
    # Given newest first, so the result cannot come from input order.
    snapshots = pl.concat([gias_snapshot(APRIL_2024, renamed), gias_snapshot(APRIL_2023, ACADEMY, SINGLE_ACADEMY)])
    trusts = dim_trust(snapshots)
    assert trusts.columns[:5] == ["trust_id", "trust_ref", "trust_name", "companies_house_number", "trust_type"]
    assert trusts["trust_status"].null_count() == trusts.height  # no all-groups register: no status
    assert trusts["trust_id"].to_list() == ["2044", "3001"]
    assert trusts["trust_name"].to_list() == ["Oak Academies Trust", "Elm Academy Trust"]
    assert trusts["trust_type"].to_list() == ["Multi-academy trust", "Single-academy trust"]


def test_dim_trust_ignores_schools_outside_trusts_and_perf_snapshots() -> None:
    snapshots = pl.concat(
        [gias_snapshot(APRIL_2023, MAINTAINED), school_register_snapshot(perf_register(), PERF_2023_24)]
    )
    assert dim_trust(snapshots).is_empty()


def test_perf_register_unreadable_dates_and_ages_are_named_in_invalid_cells() -> None:
    # Before: an unreadable date or age became NULL without a word (ages were cast with strict=False).
    frame = perf_register().with_columns(
        pl.Series("OPENDATE", [None, "31-02-1920", "01-09-2010", "2015-01-15 00:00:00", "٠١-٠٩-٢٠٢٠"]),
        pl.Series("AGELOW", ["3", "7", "eleven", "16", None]),
    )
    snapshot = school_register_snapshot(frame, PERF_2023_24)
    assert snapshot[INVALID_CELLS].to_list() == [None, "OPENDATE", "AGELOW", None, "OPENDATE"]
    assert snapshot["open_date"].to_list() == [None, None, date(2010, 9, 1), date(2015, 1, 15), None]
    assert snapshot["statutory_low_age"].to_list() == [3, 7, None, 16, None]
