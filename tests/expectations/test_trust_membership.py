"""The group-links suite names and quarantines bad rows."""

from __future__ import annotations

from datetime import date

from sendflow.expectations.runner import validate
from sendflow.expectations.trust_membership import SUITE
from tests.transforms.test_trust_membership import A, extract


def test_clean_links_pass() -> None:
    result = validate(extract(date(2024, 1, 1), ("140001", *A, "01-09-2019", "07654321")), SUITE)

    assert result.quarantine.is_empty() and not result.table_failures


def test_a_short_urn_and_a_malformed_group_reference_are_named() -> None:
    bad_ref = ("5001", "5001", "Alpha", "Multi-academy trust")
    result = validate(
        extract(
            date(2024, 1, 1), ("140001", *A, "01-09-2019", ""), ("14001", *A, "", ""), ("140002", *bad_ref, "", "")
        ),
        SUITE,
    )

    reasons = dict(zip(result.quarantine["source_row_number"], result.quarantine["reasons"], strict=True))
    assert set(reasons) == {3, 4}
    assert "urn_is_six_digits" in reasons[3] and "group_ref_format" in reasons[4]


def test_the_same_school_and_group_twice_in_one_extract_is_quarantined() -> None:
    result = validate(
        extract(date(2024, 1, 1), ("140001", *A, "01-09-2019", ""), ("140001", *A, "01-09-2019", "")), SUITE
    )

    assert result.quarantine.height == 2
    assert all("one_row_per_school_and_group" in r for r in result.quarantine["reasons"])


def test_a_urn_in_another_script_and_an_unreadable_joined_date_are_named() -> None:
    result = validate(
        extract(date(2024, 1, 1), ("140001", *A, "01-09-2019", ""), ("١٤٠٠٠٢", *A, "1 Sept 2019", "")),
        SUITE,
        engine="polars",
    )

    reasons = dict(zip(result.quarantine["source_row_number"], result.quarantine["reasons"], strict=True))
    assert set(reasons) == {3}
    assert "urn_is_six_digits" in reasons[3] and "invalid_cells='Joined date'" in reasons[3]
