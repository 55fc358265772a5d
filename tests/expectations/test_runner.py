"""The GX runner: failures become quarantine rows named by source row, table checks reject the file."""

from __future__ import annotations

import json

import polars as pl
import pytest

from sendflow.expectations.runner import SuiteError, validate
from sendflow.expectations.suite import Suite, at_least_rows, between, is_true, matches, not_null, unique_together
from sendflow.transforms.common import SOURCE_ROW

SUITE = Suite(
    dataset="tiny",
    table="tiny_table",
    grain="One row per code.",
    derived={"small_within_big": (pl.col("small") <= pl.col("big")).fill_null(True)},
    row_checks=(
        not_null("code", "code_present"),
        matches("code", r"^\d{3}$", "code_is_three_digits"),
        unique_together(("code",), "code_unique"),
        between("big", "big_non_negative", min_value=0),
        is_true("small_within_big", "small_within_big"),
    ),
    table_checks=(at_least_rows(1, "has_rows"),),
)


def frame(codes: list[str | None], small: list[int | None], big: list[int | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            SOURCE_ROW: list(range(2, 2 + len(codes))),
            "code": codes,
            "small": small,
            "big": big,
        },
        schema={SOURCE_ROW: pl.Int64, "code": pl.String, "small": pl.Int64, "big": pl.Int64},
    )


def reasons_by_row(quarantine: pl.DataFrame) -> dict[int, str]:
    return dict(zip(quarantine[SOURCE_ROW].to_list(), quarantine["reasons"].to_list(), strict=True))


def test_clean_frame_passes_whole() -> None:
    clean = frame(["201", "202"], [1, 0], [5, 0])
    result = validate(clean, SUITE)
    assert result.quarantine.is_empty()
    assert result.quarantine.columns == [SOURCE_ROW, "reasons", "record"]
    assert result.valid.equals(clean)
    assert result.failed_row_checks == {}
    assert result.table_failures == []
    assert result.rows_checked == 2


def test_bad_rows_are_quarantined_by_source_row_and_check_name() -> None:
    result = validate(frame(["201", "2x2", "203", "204"], [1, 1, 9, None], [5, 5, 5, -1]), SUITE)
    reasons = reasons_by_row(result.quarantine)
    assert sorted(reasons) == [3, 4, 5]
    assert reasons[3].startswith("code_is_three_digits")
    assert reasons[4].startswith("small_within_big")
    assert reasons[5].startswith("big_non_negative")
    assert result.valid[SOURCE_ROW].to_list() == [2]
    assert result.failed_row_checks == {"code_is_three_digits": 1, "small_within_big": 1, "big_non_negative": 1}


def test_valid_rows_do_not_carry_the_derived_helper_columns() -> None:
    result = validate(frame(["201"], [1], [5]), SUITE)
    assert "small_within_big" not in result.valid.columns


def test_a_row_failing_two_checks_lists_both() -> None:
    result = validate(frame(["201", "99"], [1, 9], [5, 5]), SUITE)
    reasons = reasons_by_row(result.quarantine)[3].split("; ")
    assert len(reasons) == 2
    assert {reason.split(" ")[0] for reason in reasons} == {"code_is_three_digits", "small_within_big"}
    assert result.quarantine.height == 1


def test_duplicates_quarantine_every_copy() -> None:
    result = validate(frame(["201", "202", "201"], [1, 1, 1], [5, 5, 5]), SUITE)
    assert result.quarantine[SOURCE_ROW].to_list() == [2, 4]
    assert all(reason.startswith("code_unique") for reason in result.quarantine["reasons"])


def test_quarantine_reason_names_the_offending_value() -> None:
    result = validate(frame(["2x2"], [1], [5]), SUITE)
    assert "2x2" in result.quarantine["reasons"].item()


def test_missing_values_fail_only_the_not_null_check() -> None:
    # GX skips NULLs in value checks, so an absent code is reported once, as absent.
    result = validate(frame([None], [None], [None]), SUITE)
    assert result.quarantine["reasons"].item().split(" ")[0] == "code_present"
    assert result.failed_row_checks == {"code_present": 1}


def test_records_become_json_text_in_the_quarantine() -> None:
    records = pl.DataFrame(
        {SOURCE_ROW: [2, 3], "CODE": ["201", "2x2"], "NOTE": ["fine", None]},
        schema={SOURCE_ROW: pl.Int64, "CODE": pl.String, "NOTE": pl.String},
    )
    result = validate(frame(["201", "2x2"], [1, 1], [5, 5]), SUITE, records)
    assert result.quarantine[SOURCE_ROW].to_list() == [3]
    assert json.loads(result.quarantine["record"].item()) == {"CODE": "2x2", "NOTE": None}


def test_without_records_the_record_column_is_null() -> None:
    result = validate(frame(["2x2"], [1], [5]), SUITE)
    assert result.quarantine["record"].to_list() == [None]


def test_empty_frame_fails_the_table_check() -> None:
    result = validate(frame([], [], []), SUITE)
    assert len(result.table_failures) == 1
    assert result.table_failures[0].startswith("has_rows")
    assert result.quarantine.is_empty()


def test_a_check_on_a_missing_column_is_a_suite_error_not_bad_data() -> None:
    broken = Suite(dataset="tiny", table="tiny_table", grain="g", row_checks=(not_null("absent", "absent_present"),))
    with pytest.raises(SuiteError, match="absent_present"):
        validate(frame(["201"], [1], [5]), broken)
