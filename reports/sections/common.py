"""Rules the sections share: which census rows count, and a rate that is NULL where its base is not positive."""

from __future__ import annotations

import polars as pl

CENSUS_COUNTS = ("total_pupils", "ehc_plan", "sen_support")


def complete(frame: pl.DataFrame) -> pl.DataFrame:
    # The views count only schools publishing all three counts, so numerators and denominators match.
    return frame.filter(pl.all_horizontal(pl.col(c).is_not_null() for c in CENSUS_COUNTS))


def rate(numerator: str, denominator: str) -> pl.Expr:
    return pl.when(pl.col(denominator) > 0).then(100.0 * pl.col(numerator) / pl.col(denominator))
