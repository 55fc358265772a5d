"""The DfE explore-education-statistics (EES) conventions every EES file of every dataset shares.

- `time_period`: an academic or financial year as six digits, the first year and the last two digits of
  the second ('202324' is 2023/24 or 2023-24), or a calendar year as four ('2024').
- `geographic_level`: which rows a file's row is ('National', 'Regional', 'Local authority', 'School'...);
  each dataset keeps the level that is its grain and sets the others aside.

A `time_period` that is neither gives NULL, which the dataset's suite quarantines (its year is required).
"""

from __future__ import annotations

from typing import Final

import polars as pl

TIME_PERIOD: Final = "time_period"
GEOGRAPHIC_LEVEL: Final = "geographic_level"

# geographic_level values, lower case (the files capitalise them: 'Local authority').
NATIONAL: Final = "national"
REGIONAL: Final = "regional"
LOCAL_AUTHORITY: Final = "local authority"
SCHOOL: Final = "school"


def _period(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String).str.strip_chars()


def _span_start(column: str) -> pl.Expr:
    """The first year of a six-digit two-year time_period whose second year follows it; NULL otherwise."""
    period = _period(column)
    start = period.str.slice(0, 4).cast(pl.Int64, strict=False)
    end = period.str.slice(4, 2).cast(pl.Int64, strict=False)
    return pl.when(period.str.contains(r"^20[0-9]{4}$") & (end == (start + 1) % 100)).then(start)


def _span(column: str, separator: str) -> pl.Expr:
    start = _span_start(column)
    return start.cast(pl.String) + separator + ((start + 1) % 100).cast(pl.String).str.zfill(2)


def academic_year(column: str = TIME_PERIOD) -> pl.Expr:
    """time_period 202324 -> '2023/24' (common.academic_year_label's spelling); anything else NULL."""
    return _span(column, "/").alias("academic_year")


def financial_year(column: str = TIME_PERIOD) -> pl.Expr:
    """time_period 202324 -> '2023-24' (common.financial_year_label's spelling); anything else NULL."""
    return _span(column, "-").alias("financial_year")


def calendar_year(column: str = TIME_PERIOD) -> pl.Expr:
    """time_period 202425 -> 2025 (the January of an academic-year count); 2024 -> 2024; else NULL."""
    period = _period(column)
    plain = pl.when(period.str.contains(r"^20[0-9]{2}$")).then(period.cast(pl.Int64, strict=False))
    return pl.coalesce(_span_start(column) + 1, plain).cast(pl.Int64).alias("calendar_year")


def level(column: str = GEOGRAPHIC_LEVEL) -> pl.Expr:
    """The row's geographic_level, stripped and lower case (NULL where the file has none)."""
    return pl.col(column).cast(pl.String).str.strip_chars().str.to_lowercase()


def is_level(wanted: str, column: str = GEOGRAPHIC_LEVEL) -> pl.Expr:
    """True on rows of that level; False on other levels and on rows without one."""
    return (level(column) == wanted).fill_null(False)


def at_level_or_unlabelled(wanted: str, column: str = GEOGRAPHIC_LEVEL) -> pl.Expr:
    """The rows a dataset keeps: those of its grain's level, and those of a file (or a slice of one) without
    a geographic_level, which are all of the one level."""
    found = level(column)
    return found.is_null() | (found == wanted)
