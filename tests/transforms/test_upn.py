"""The DfE UPN check letter, by hand-worked examples, and the status every UPN gets."""

from __future__ import annotations

import polars as pl
import pytest

from sendflow.transforms.upn import CHECK_LETTERS, LETTER_VALUES, expected_check_letter, upn_status


def check_letter(body: str) -> str:
    """The DfE algorithm written out one character at a time: the oracle the vectorised production
    expression is checked against (and what tests/pupils.py issues test UPNs with)."""
    total = sum(
        position * (LETTER_VALUES[char] if position == 13 and char.isalpha() else int(char))
        for position, char in enumerate(body, start=2)
    )
    return CHECK_LETTERS[total % 23]


def test_check_letter_of_worked_examples() -> None:
    # 8*2 + 1*4 + 2*5 + 5*10 + 1*13 = 93; 93 mod 23 = 1: B (B801200005001 is a known valid UPN).
    assert check_letter("801200005001") == "B"
    # 2*2 + 7*4 + 1*9 + 6*10 + 4*12 + 9*13 = 266; 266 mod 23 = 13: P (A=0 ... H=7, J=8 ... N=12, P=13).
    assert check_letter("207000016049") == "P"


def test_check_letter_of_a_temporary_upn_counts_the_final_letter_by_its_position() -> None:
    # 8*2 + 1*4 + 2*5 + 5*11 + 1*13 (B) = 98; 98 mod 23 = 6: G.
    assert check_letter("80120000050B") == "G"


@pytest.mark.parametrize(
    ("upn", "status"),
    [
        ("P207000016049", "permanent"),
        ("B801200005001", "permanent"),
        ("G80120000050B", "temporary"),
        ("A207000016049", "wrong_check_letter"),
        ("q207000016049", "bad_characters"),
        ("Q20700001604", "wrong_length"),
        ("Q2070000160490", "wrong_length"),
        ("Q2070A0016049", "bad_characters"),
        ("I207000016049", "bad_characters"),
        ("G80120000050O", "bad_characters"),
        ("", "missing"),
        (None, "missing"),
    ],
)
def test_status(upn: str | None, status: str) -> None:
    frame = pl.DataFrame({"upn": [upn]}, schema={"upn": pl.String})

    assert frame.select(upn_status("upn")).item() == status


def test_vectorised_check_letter_agrees_with_the_scalar_one() -> None:
    bodies = [f"{n:012d}" for n in range(0, 10_000_000_000, 123_456_789)] + ["80120000050B", "30412340001Z"]
    frame = pl.DataFrame({"upn": ["?" + body for body in bodies]})

    assert frame.select(expected_check_letter(pl.col("upn"))).to_series().to_list() == [check_letter(b) for b in bodies]


def test_the_production_expression_gives_the_worked_examples() -> None:
    frame = pl.DataFrame({"upn": ["?801200005001", "?207000016049", "?80120000050B"]})
    assert frame.select(expected_check_letter(pl.col("upn"))).to_series().to_list() == ["B", "P", "G"]
