"""LA codes: the DfE number is the key; ONS codes, which changed over the years, are only looked up."""

from __future__ import annotations

import polars as pl

from sendflow.transforms.la_codes import la_code, ons_code_agrees


def test_the_dfe_number_wins_and_an_ons_code_fills_a_missing_one() -> None:
    frame = pl.DataFrame({"old": ["825", None, None, None], "new": ["E06000060", "E10000002", "E06000060", "E99"]})

    assert frame.select(la_code("old", "new"))["old"].to_list() == ["825", "825", "825", None]


def test_every_ons_code_an_la_has_carried_agrees_with_its_number() -> None:
    frame = pl.DataFrame(
        {
            "la": ["825", "825", "390", "390", "202", "202"],
            "ons": ["E10000002", "E06000060", "E08000020", "E08000037", "E09000007", "E06000060"],
        }
    )

    assert frame.select(ons_code_agrees("la", "ons")).to_series().to_list() == [True, True, True, True, True, False]


def test_an_unknown_ons_code_does_not_agree() -> None:
    frame = pl.DataFrame({"la": ["202"], "ons": ["E09999999"]})

    assert frame.select(ons_code_agrees("la", "ons")).item() is False
