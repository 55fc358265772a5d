"""The pupil census suite: bad UPNs and items are named by what is wrong, never by the UPN itself."""

from __future__ import annotations

from sendflow.expectations.pupil_census import SUITE
from sendflow.expectations.runner import validate
from tests.pupils import School, pupils
from tests.transforms.test_pupil_census import raw, transform

ROWS = pupils(School("202", "2001", pupils=8, ehc=1, support=2))


def reasons_by_row(rows: list[dict[str, str]]) -> dict[int, str]:
    result = validate(transform(rows), SUITE)
    return dict(zip(result.quarantine["source_row_number"], result.quarantine["reasons"], strict=True))


def test_a_clean_return_passes() -> None:
    result = validate(transform(ROWS), SUITE)

    assert result.quarantine.is_empty() and not result.table_failures


def test_bad_upns_are_quarantined_by_their_fault_and_never_printed() -> None:
    wrong_letter = "A" + ROWS[1]["UPN"][1:] if ROWS[1]["UPN"][0] != "A" else "B" + ROWS[1]["UPN"][1:]
    rows = [
        ROWS[0],
        {**ROWS[1], "UPN": wrong_letter},
        {**ROWS[2], "UPN": ROWS[2]["UPN"][0].lower() + ROWS[2]["UPN"][1:]},
        {**ROWS[3], "UPN": ""},
        *ROWS[4:],
    ]

    reasons = reasons_by_row(rows)

    assert set(reasons) == {3, 4, 5}
    assert "upn_valid" in reasons[3] and "wrong_check_letter" in reasons[3]
    assert "bad_characters" in reasons[4]
    assert "missing" in reasons[5]
    for row in rows[1:4]:
        assert not any(row["UPN"] and row["UPN"] in text for text in reasons.values())


def test_a_pupil_without_sen_who_has_a_need_and_an_impossible_age_are_named() -> None:
    rows = [*ROWS[:5], {**ROWS[5], "SENtype1": "ASD"}, {**ROWS[6], "DOB": "1990-01-01"}, ROWS[7]]

    reasons = reasons_by_row(rows)

    assert set(reasons) == {7, 8}
    assert "need_matches_provision" in reasons[7]
    assert "age_plausible" in reasons[8] and "age_fits_nc_year" in reasons[8]


def test_the_same_pupil_twice_in_one_census_is_quarantined() -> None:
    reasons = reasons_by_row([*ROWS, ROWS[0]])

    assert len(reasons) == 2 and all("one_row_per_pupil_per_census" in r for r in reasons.values())


def test_raw_helper_numbers_rows_from_two() -> None:
    assert raw(ROWS)["source_row_number"][0] == 2
