"""Unique pupil numbers (UPN): the DfE check-letter algorithm, vectorised.

A UPN is 13 characters: a check letter, the issuing school's LA number (3 digits) and establishment
number (4), the last two digits of the year of issue and a 3-digit serial. A temporary UPN ends in a
letter instead of its last digit. The check letter is the sum of each later character's value times its
position (2 to 13), modulo 23, as a letter of CHECK_LETTERS; a temporary UPN's final letter counts as its
index in the same list. I, O and S are never used.
"""

from __future__ import annotations

import polars as pl

CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
LETTER_VALUES = {letter: value for value, letter in enumerate(CHECK_LETTERS)}
# Why a UPN is not usable, as the pupil census records it (never the UPN itself).
UPN_STATUSES = ("permanent", "temporary", "missing", "wrong_length", "bad_characters", "wrong_check_letter")


def _body_value(upn: pl.Expr, position: int) -> pl.Expr:
    char = upn.str.slice(position - 1, 1)
    if position == 13:
        return (
            pl.when(char.str.contains(r"^[0-9]$"))
            .then(char.cast(pl.Int64, strict=False))
            .otherwise(char.replace_strict(LETTER_VALUES, default=None, return_dtype=pl.Int64))
        )
    return char.cast(pl.Int64, strict=False)


def expected_check_letter(upn: pl.Expr) -> pl.Expr:
    """The check letter a UPN should start with, from its other 12 characters."""
    total = pl.sum_horizontal([_body_value(upn, position) * position for position in range(2, 14)])
    return (total % 23).replace_strict(dict(enumerate(CHECK_LETTERS)), default=None, return_dtype=pl.String)


def upn_status(column: str) -> pl.Expr:
    """'permanent' or 'temporary' for a usable UPN, else why not. Nothing is corrected: a lower-case
    letter or stray space makes the UPN unusable, as the DfE's own validation does."""
    upn = pl.col(column)
    permanent = upn.str.contains(r"^[A-HJ-NP-RT-Z][0-9]{12}$")
    temporary = upn.str.contains(r"^[A-HJ-NP-RT-Z][0-9]{11}[A-HJ-NP-RT-Z]$")
    return (
        pl.when(upn.is_null() | (upn == "")).then(pl.lit("missing"))
        .when(upn.str.len_chars() != 13).then(pl.lit("wrong_length"))
        .when(~permanent & ~temporary).then(pl.lit("bad_characters"))
        .when(upn.str.slice(0, 1) != expected_check_letter(upn)).then(pl.lit("wrong_check_letter"))
        .when(permanent).then(pl.lit("permanent"))
        .otherwise(pl.lit("temporary"))
    )  # fmt: skip
