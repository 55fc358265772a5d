"""The establishment-links suite names and quarantines bad rows."""

from __future__ import annotations

from sendflow.expectations.runner import validate
from sendflow.expectations.school_links import SUITE
from tests.transforms.test_school_links import links


def test_clean_links_pass() -> None:
    result = validate(links(("100001", "140001", "Oak", "Successor", "01-09-2015")), SUITE)

    assert result.quarantine.is_empty() and not result.table_failures


def test_a_school_linked_to_itself_or_to_a_short_urn_is_named() -> None:
    result = validate(
        links(
            ("100001", "140001", "Oak", "Successor", "01-09-2015"),
            ("100002", "100002", "Self", "Successor", ""),
            ("100003", "1400", "Short", "Predecessor", ""),
        ),
        SUITE,
    )

    reasons = dict(zip(result.quarantine["source_row_number"], result.quarantine["reasons"], strict=True))
    assert set(reasons) == {3, 4}
    assert "links_to_another_school" in reasons[3] and "link_urn_is_six_digits" in reasons[4]


def test_a_link_urn_in_another_script_and_an_unreadable_date_are_named() -> None:
    result = validate(
        links(
            ("100001", "140001", "Oak", "Successor", "01-09-2015"),
            ("100002", "１４０００２", "Elm", "Successor", "2015"),
        ),
        SUITE,
        engine="polars",
    )

    reasons = dict(zip(result.quarantine["source_row_number"], result.quarantine["reasons"], strict=True))
    assert set(reasons) == {3}
    assert "link_urn_is_six_digits" in reasons[3] and "invalid_cells='LinkEstablishedDate'" in reasons[3]
