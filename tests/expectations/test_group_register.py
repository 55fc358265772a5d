"""The all-groups register suite names and quarantines bad rows."""

from __future__ import annotations

from sendflow.expectations.group_register import SUITE
from sendflow.expectations.runner import validate
from tests.transforms.test_group_register import CLOSED_SAT, MAT, register


def test_real_shaped_rows_pass_on_both_engines() -> None:
    federation = ("1000", "Devon Moors Federation", "A federation", "", "Federation", "", "", "", "Open", "")
    for engine in ("gx", "polars"):
        result = validate(register(MAT, CLOSED_SAT, federation), SUITE, engine=engine)

        assert result.quarantine.is_empty() and not result.table_failures, engine


def test_a_trust_with_a_bad_reference_a_closed_group_without_a_date_and_a_repeat_are_named() -> None:
    for engine in ("gx", "polars"):
        result = validate(
            register(
                MAT,
                ("17000", "X17", "Bad Ref Trust", "", "Multi-academy trust", "", "", "", "Open", ""),
                ("17001", "TR17001", "Shut Trust", "", "Single-academy trust", "", "", "", "Closed", ""),
                ("17002", "TR17002", "Odd Trust", "1234", "Multi-academy trust", "", "", "", "Dormant", "99"),
                MAT,
            ),
            SUITE,
            engine=engine,
        )

        reasons = dict(zip(result.quarantine["source_row_number"], result.quarantine["reasons"], strict=True))
        assert set(reasons) == {2, 3, 4, 5, 6}, engine
        assert "academy_trust_ref_is_a_tr_number" in reasons[3] and "closed_has_a_closing_date" in reasons[4]
        assert all(
            check in reasons[5] for check in
            ("group_status_is_known", "companies_house_number_is_eight_characters", "ukprn_is_eight_digits")
        )  # fmt: skip
        assert "one_row_per_group" in reasons[2] and "one_row_per_group" in reasons[6]
