"""The school_register_snapshot suite, run on snapshots made by the real transform from tiny raw files."""

from __future__ import annotations

from datetime import date

import polars as pl

from sendflow.expectations.runner import Validation, validate
from sendflow.expectations.school_register import SUITE
from sendflow.transforms.common import SOURCE_ROW, SourceInfo
from sendflow.transforms.school_register import GIAS_ESTABLISHMENTS, PERF_SCHOOL_INFORMATION, school_register_snapshot

HEADER = (
    "URN", "LA", "ESTAB", "LAESTAB", "SCHNAME", "SCHSTATUS", "OPENDATE", "CLOSEDATE", "MINORGROUP", "SCHOOLTYPE",
    "ISPRIMARY", "ISSECONDARY", "ISPOST16",
)  # fmt: skip
OPEN = ("100000", "201", "3614", "2013614", "The Aldgate School", "Open", None, None, "Maintained school",
        "Voluntary aided school", "1", "0", "0")  # fmt: skip
CLOSED = ("100002", "202", "4000", "2024000", "Camden Secondary", "Closed", "01-09-2010", "31-08-2023", "Academy",
          "Academy converter", "0", "1", "1")  # fmt: skip


def raw(header: tuple[str, ...], *rows: tuple[str | None, ...]) -> pl.DataFrame:
    frame = pl.DataFrame(
        [dict(zip(header, row, strict=True)) for row in rows] or None, schema=dict.fromkeys(header, pl.String)
    )
    return frame.with_row_index(SOURCE_ROW, offset=2).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


def with_(row: tuple[str | None, ...], **changes: str | None) -> tuple[str | None, ...]:
    return tuple(changes.get(column, value) for column, value in zip(HEADER, row, strict=True))


def check(*rows: tuple[str | None, ...]) -> Validation:
    source = SourceInfo(layout=PERF_SCHOOL_INFORMATION.name, source_name="x.csv", academic_year="2023/24")
    return validate(school_register_snapshot(raw(HEADER, *rows), source), SUITE)


def failed_checks(reasons: str) -> set[str]:
    return {reason.split(" (")[0] for reason in reasons.split("; ")}


def only_row_3_fails(result: Validation) -> set[str]:
    assert result.quarantine[SOURCE_ROW].to_list() == [3]
    assert result.valid[SOURCE_ROW].to_list() == [2]
    return failed_checks(result.quarantine["reasons"].item())


def test_clean_perf_register_passes() -> None:
    # Perf tables carry no trusts: an all-NULL trust_id column must not trip the trust check.
    result = check(OPEN, CLOSED)
    assert result.quarantine.is_empty()
    assert result.table_failures == []


def test_laestab_not_starting_with_the_la_code_is_quarantined() -> None:
    assert only_row_3_fails(check(OPEN, with_(CLOSED, LAESTAB="2014000"))) == {"laestab_starts_with_la_code"}


def test_open_date_after_close_date_is_quarantined() -> None:
    bad = with_(CLOSED, OPENDATE="01-09-2020", CLOSEDATE="31-08-2019")
    assert only_row_3_fails(check(OPEN, bad)) == {"opened_before_closed"}


def test_opening_and_closing_on_the_same_day_is_allowed() -> None:
    assert check(OPEN, with_(CLOSED, OPENDATE="31-08-2023")).quarantine.is_empty()


def test_seven_digit_urn_is_quarantined() -> None:
    assert only_row_3_fails(check(OPEN, with_(CLOSED, URN="1000020"))) == {"urn_is_six_digits"}


def test_unknown_la_code_is_quarantined() -> None:
    assert only_row_3_fails(check(OPEN, with_(CLOSED, LA="999", LAESTAB="9994000"))) == {"la_code_known"}


def test_six_digit_laestab_is_quarantined() -> None:
    assert only_row_3_fails(check(OPEN, with_(CLOSED, LAESTAB="202400"))) == {"laestab_is_seven_digits"}


def test_missing_school_name_is_quarantined() -> None:
    assert only_row_3_fails(check(OPEN, with_(CLOSED, SCHNAME=None))) == {"school_name_present"}


def test_duplicate_urn_in_one_snapshot_quarantines_both_rows() -> None:
    result = check(OPEN, CLOSED, with_(OPEN, ESTAB="3615", LAESTAB="2013615"))
    assert result.quarantine[SOURCE_ROW].to_list() == [2, 4]
    assert all(failed_checks(reasons) == {"urn_unique_per_snapshot"} for reasons in result.quarantine["reasons"])


def test_empty_register_fails_the_table_check() -> None:
    result = check()
    assert [failure.split(" ")[0] for failure in result.table_failures] == ["file_has_establishments"]


GIAS_HEADER = (
    "URN", "LA (code)", "EstablishmentNumber", "EstablishmentName", "TypeOfEstablishment (name)",
    "EstablishmentStatus (name)", "OpenDate", "CloseDate", "PhaseOfEducation (name)", "Trusts (code)", "Trusts (name)",
    "TrustSchoolFlag (name)",
)  # fmt: skip


def check_gias(*rows: tuple[str | None, ...]) -> Validation:
    source = SourceInfo(layout=GIAS_ESTABLISHMENTS.name, source_name="x.csv", snapshot_date=date(2024, 4, 22))
    return validate(school_register_snapshot(raw(GIAS_HEADER, *rows), source), SUITE)


ACADEMY = ("137000", "330", "4001", "Oak Academy", "Academy converter", "Open", "01-09-2011", None, "Secondary",
           "2044", "Oak Trust", "Supported by a multi-academy trust")  # fmt: skip
MAINTAINED = ("100000", "201", "3614", "The Aldgate School", "Voluntary aided school", "Open", None, None, "Primary",
              None, None, "Not applicable")  # fmt: skip


def test_clean_gias_snapshot_with_trusts_passes() -> None:
    assert check_gias(MAINTAINED, ACADEMY).quarantine.is_empty()


def test_non_numeric_trust_id_is_quarantined() -> None:
    bad = (*ACADEMY[:9], "TR02044", "Oak Trust", ACADEMY[11])
    assert only_row_3_fails(check_gias(MAINTAINED, bad)) == {"trust_id_is_numeric"}


def test_a_urn_in_another_script_and_an_unreadable_date_are_quarantined_by_name() -> None:
    result = check(OPEN, with_(CLOSED, URN="١٠٠٠٠٢", OPENDATE="01-09-10"))
    assert only_row_3_fails(result) == {"urn_is_six_digits", "every_typed_cell_is_a_date_or_number"}
    assert "invalid_cells='OPENDATE'" in result.quarantine["reasons"].item()
