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


def test_an_la_numbered_in_another_script_is_quarantined_by_name() -> None:
    # Before: '\d' in the suite let '٢٠٢' through to la_code_known only; now the format check names it.
    result = check(ENGLAND, CAMDEN, ["٢٠٤", *HACKNEY[1:]])

    assert set(result.quarantine["source_row_number"]) == {5}
    assert "la_code_is_three_digits (la_code='٢٠٤')" in result.quarantine["reasons"][0]


def test_an_impossible_amount_is_quarantined_not_a_crash() -> None:
    result = check(ENGLAND, CAMDEN, [*HACKNEY[:4], "1e400", *HACKNEY[5:]])

    assert set(result.quarantine["source_row_number"]) == {5}
    assert "amount_is_number_or_symbol (amount_status='invalid:1e400')" in result.quarantine["reasons"][0]
