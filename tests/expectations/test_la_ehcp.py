"""The la_ehcp_observation suite, run on frames made by the real transform from tiny raw files."""

from __future__ import annotations

import json

import polars as pl

from sendflow.expectations.la_ehcp import SUITE
from sendflow.expectations.runner import Validation, validate
from sendflow.transforms.common import SOURCE_ROW, SourceInfo
from sendflow.transforms.la_ehcp import CASELOAD_2025, la_ehcp_observation

HEADER = (
    "time_period", "geographic_level", "region_code", "old_la_code", "la_name", "breakdown_topic", "breakdown",
    "ehcplans", "mainstream_total", "special_total",
)  # fmt: skip
ENGLAND = ("202425", "National", None, None, None, "All EHC plans", "All EHC plans", "638745", "278236", "160000")
CAMDEN = ("202425", "Local authority", "E12000007", "202", "Camden", "All EHC plans", "All EHC plans", "2500", "900",
          "1100")  # fmt: skip
CAMDEN_AGE = ("202425", "Local authority", "E12000007", "202", "Camden", "Child or young persons age", "age 10", "150",
              "80", "40")  # fmt: skip
CITY = ("202425", "Local authority", "E12000007", "201", "City of London", "All EHC plans", "All EHC plans", "31",
        "10", "15")  # fmt: skip


def raw_caseload(*rows: tuple[str | None, ...]) -> pl.DataFrame:
    frame = pl.DataFrame(
        [dict(zip(HEADER, row, strict=True)) for row in rows] or None, schema=dict.fromkeys(HEADER, pl.String)
    )
    return frame.with_row_index(SOURCE_ROW, offset=2).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


def observations(raw: pl.DataFrame) -> pl.DataFrame:
    return la_ehcp_observation(raw, SourceInfo(layout=CASELOAD_2025.name, source_name="caseload.csv"))


def check(*rows: tuple[str | None, ...]) -> Validation:
    raw = raw_caseload(*rows)
    return validate(observations(raw), SUITE, raw)


def with_(row: tuple[str | None, ...], **changes: str | None) -> tuple[str | None, ...]:
    return tuple(changes.get(column, value) for column, value in zip(HEADER, row, strict=True))


def failed_checks(reasons: str) -> set[str]:
    return {reason.split(" (")[0] for reason in reasons.split("; ")}


def test_clean_file_passes() -> None:
    result = check(ENGLAND, CAMDEN, CAMDEN_AGE, CITY)

    assert result.quarantine.is_empty()
    assert result.table_failures == []
    assert sorted(set(result.valid[SOURCE_ROW])) == [2, 3, 4, 5]


def test_an_unknown_la_is_quarantined_by_row_with_its_record_and_the_rest_kept() -> None:
    result = check(ENGLAND, with_(CAMDEN, old_la_code="999"), CITY)

    assert result.quarantine[SOURCE_ROW].to_list() == [3]
    reasons = result.quarantine["reasons"][0]
    assert "la_code_known (la_code='999')" in reasons
    record = json.loads(result.quarantine["record"][0])
    assert (record["old_la_code"], record["la_name"], record["ehcplans"]) == ("999", "Camden", "2500")
    # Every value of the bad row is held back, nothing of the others.
    assert 3 not in result.valid[SOURCE_ROW].to_list()
    assert sorted(set(result.valid[SOURCE_ROW])) == [2, 4]
    assert result.failed_row_checks == {"la_code_known": 3}  # total, mainstream and special of row 3


def test_a_code_that_lost_its_zeros_or_is_missing_is_named() -> None:
    result = check(ENGLAND, with_(CAMDEN, old_la_code="93"), with_(CITY, old_la_code=None))

    by_row = dict(zip(result.quarantine[SOURCE_ROW], result.quarantine["reasons"], strict=True))
    assert {"la_code_is_three_digits_or_eng", "la_code_known"} <= failed_checks(by_row[3])
    assert "la_code_present" in failed_checks(by_row[4])


def test_an_unexpected_geographic_level_is_not_silently_dropped() -> None:
    result = check(ENGLAND, with_(CAMDEN, geographic_level="Local authority district"))

    assert result.quarantine[SOURCE_ROW].to_list() == [3]
    assert "la_code_present" in failed_checks(result.quarantine["reasons"][0])


def test_negative_counts_and_unknown_symbols_are_quarantined() -> None:
    result = check(ENGLAND, with_(CAMDEN, ehcplans="-5"), with_(CITY, special_total="n.a."))

    by_row = dict(zip(result.quarantine[SOURCE_ROW], result.quarantine["reasons"], strict=True))
    assert "value_non_negative" in failed_checks(by_row[3])
    assert failed_checks(by_row[4]) == {"value_is_number_or_symbol"}
    assert "value_status='invalid:n.a.'" in by_row[4]


def test_publisher_symbols_pass() -> None:
    result = check(ENGLAND, with_(CAMDEN, mainstream_total="x", special_total="z"), with_(CITY, ehcplans="c"))

    assert result.quarantine.is_empty()
    statuses = result.valid.filter(pl.col("value").is_null())["value_status"].to_list()
    assert sorted(statuses) == ["c", "x", "z"]


def test_an_implausible_or_missing_year_is_quarantined() -> None:
    # The file's other rows are January 2025; a 2009 row and an unreadable period fail on their own.
    result = check(ENGLAND, with_(CAMDEN, time_period="200809"), with_(CITY, time_period="2025/26"))

    by_row = dict(zip(result.quarantine[SOURCE_ROW], result.quarantine["reasons"], strict=True))
    assert "calendar_year_plausible" in failed_checks(by_row[3])
    assert "calendar_year_present" in failed_checks(by_row[4])


def test_two_rows_for_the_same_la_year_and_breakdown_are_both_quarantined() -> None:
    result = check(ENGLAND, CAMDEN, with_(CAMDEN, ehcplans="2600"))

    assert result.quarantine[SOURCE_ROW].to_list() == [3, 4]
    assert all(
        "unique_per_la_year_measure_breakdown_release_table" in failed_checks(r) for r in result.quarantine["reasons"]
    )


def test_an_la_row_repeating_its_region_total_is_quarantined() -> None:
    region = with_(CAMDEN, geographic_level="Regional", old_la_code=None, la_name=None, ehcplans="2531")
    result = check(ENGLAND, region, with_(CAMDEN, ehcplans="2531"), with_(CITY, ehcplans="2531"))

    assert result.quarantine[SOURCE_ROW].to_list() == [4, 5]
    assert failed_checks(result.quarantine["reasons"][0]) == {"la_value_is_not_its_region_total"}


def test_unknown_measures_and_years_after_the_release_are_caught() -> None:
    # Neither can come out of the transform; the checks guard later edits of it.
    frame = observations(raw_caseload(ENGLAND, CAMDEN)).with_columns(
        pl.when(pl.col(SOURCE_ROW) == 2).then(pl.lit("caseloads")).otherwise(pl.col("measure")).alias("measure"),
        pl.when(pl.col(SOURCE_ROW) == 3).then(pl.lit(2024)).otherwise(pl.col("release")).alias("release"),
    )

    result = validate(frame, SUITE)

    by_row = dict(zip(result.quarantine[SOURCE_ROW], result.quarantine["reasons"], strict=True))
    assert "measure_known" in failed_checks(by_row[2])
    assert "calendar_year_not_after_release" in failed_checks(by_row[3])


def test_a_file_without_la_or_england_rows_fails_the_table_check() -> None:
    region = with_(CAMDEN, geographic_level="Regional", old_la_code=None)

    result = check(region)

    assert result.valid.is_empty()
    assert result.table_failures and result.table_failures[0].startswith("file_has_la_or_england_rows")


def test_suite_grain_names_the_la_year_measure_and_breakdown() -> None:
    assert SUITE.table == "la_ehcp_observation"
    assert all(word in SUITE.grain for word in ("LA", "'ENG'", "calendar year", "measure", "breakdown", "release"))
    assert SUITE.reconciliations == ()  # slices of a file must load: LA-to-England sums are a realdata test


def test_codes_and_counts_in_other_scripts_are_quarantined_by_name() -> None:
    raw = raw_caseload(ENGLAND, with_(CAMDEN, old_la_code="٢٠٢"), with_(CITY, ehcplans="٣١"))
    result = validate(observations(raw), SUITE, raw, engine="polars")

    reasons = dict(zip(result.quarantine[SOURCE_ROW], result.quarantine["reasons"], strict=True))
    assert set(reasons) == {3, 4}
    assert {"la_code_is_three_digits_or_eng", "la_code_known"} <= failed_checks(reasons[3])
    assert "value_is_number_or_symbol (value_status='invalid:٣١')" in reasons[4]
