"""The DSG suite: bad LA rows are quarantined by name; LA rows that miss ENGLAND reject the file."""

from __future__ import annotations

from collections.abc import Sequence

from sendflow.expectations.dsg_allocation import SUITE
from sendflow.expectations.runner import Validation, validate
from sendflow.transforms.common import CONTROLS, SourceInfo
from sendflow.transforms.dsg_allocation import build
from tests.transforms.test_dsg_allocation import CAMDEN, ENGLAND, HACKNEY, TITLE, sheet


def check(*rows: Sequence[str | None]) -> Validation:
    built = build(sheet(*rows), SourceInfo("x", "x.ods", preamble=TITLE))
    return validate(built["fct_la_dsg_allocation"], SUITE, controls=built[CONTROLS])


def test_a_consistent_sheet_passes() -> None:
    result = check(ENGLAND, CAMDEN, HACKNEY)

    assert result.quarantine.is_empty() and not result.table_failures


def test_an_unknown_la_is_quarantined_and_named() -> None:
    result = check(ENGLAND, CAMDEN, ["999", "Nowhere", *HACKNEY[2:]])

    assert set(result.quarantine["source_row_number"]) == {5}
    assert "la_code_known" in result.quarantine["reasons"][0]


def test_la_rows_that_do_not_add_up_to_england_reject_the_file_naming_block_and_difference() -> None:
    short = [*HACKNEY[:4], "79", *HACKNEY[5:]]  # high needs before deductions is £1 short

    result = check(ENGLAND, CAMDEN, short)

    assert len(result.table_failures) == 1
    failure = result.table_failures[0]
    assert "la_rows_sum_to_england" in failure and "high_needs/before_deductions" in failure
    assert "difference -1" in failure
