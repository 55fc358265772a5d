"""Building blocks shared by every dataset's transforms: layouts, column harmonisation, symbol parsing."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import polars as pl

# The contract's status vocabulary, and how publishers spell the same things elsewhere.
STATUS_SYMBOLS: frozenset[str] = frozenset({"c", "x", "z", "low", ":", "u"})
SYMBOL_ALIASES: Mapping[str, str] = {
    "": "x",  # empty cell: not collected or not returned
    "na": "x",  # performance tables write a literal NA for 'no data'
    "n/a": "x",
    "..": "x",
    "~": "low",
}
INVALID_PREFIX = "invalid:"
SOURCE_ROW = "source_row_number"
# The key under which a build returns a file's own totals (an ENGLAND row), checked against its rows.
CONTROLS = "controls"

YearSource = Literal["external", "column", "snapshot", "title"]


class SourceError(ValueError):
    """The file's content cannot give what its layout promises (no year, no date...): a fault of the
    file, so the pipeline rejects it with this message rather than recording a failure of its own."""


@dataclass(frozen=True)
class Layout:
    """One published shape of a source: which columns identify it and which it must have."""

    name: str
    dataset: str
    description: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    year_from: YearSource = "external"
    # Multi-block sheets repeat labels (the DSG's two column groups); the header numbers repeats 'X [2]'.
    allow_repeated: bool = False
    # Columns never copied anywhere (names, dates of birth, UPNs): not even into quarantine records.
    personal: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional

    def columns_in(self, header: Iterable[str]) -> list[str]:
        """The header's own names for this layout's columns (whatever else the file carries is ignored)."""
        return list(match_columns(header, self.columns).values())


@dataclass(frozen=True)
class SourceInfo:
    """What the intake learnt about a file, passed to a dataset's transforms."""

    layout: str
    source_name: str
    academic_year: str | None = None
    snapshot_date: date | None = None
    preamble: tuple[str, ...] = ()  # title rows above the header, e.g. "Dedicated schools grant: 2023 to 2024 ..."
    extras: Mapping[str, str] = field(default_factory=dict)
    # Reference rows a transform needs from the warehouse (e.g. schools by LA and establishment number).
    lookups: Mapping[str, pl.DataFrame] = field(default_factory=dict)
    # The pseudonymisation key for pupil-level data; never printed.
    pupil_key: bytes | None = field(default=None, repr=False)


def header_key(name: str) -> str:
    """Compare headers across years: case, surrounding space, BOMs and space/underscore runs don't matter."""
    return re.sub(r"[\s_]+", "_", name.replace("\ufeff", "").strip().lower())


def match_columns(header: Iterable[str], wanted: Iterable[str]) -> dict[str, str]:
    """Map each wanted (layout) column to the header's own spelling of it, where present."""
    by_key: dict[str, str] = {}
    for column in header:
        by_key.setdefault(header_key(column), column)
    return {w: by_key[header_key(w)] for w in wanted if header_key(w) in by_key}


def harmonise_columns(raw: pl.DataFrame, layout: Layout) -> pl.DataFrame:
    """Rename a raw frame's columns to the layout's spelling; add absent optional columns as NULL text."""
    found = match_columns(raw.columns, layout.columns)
    missing_required = [c for c in layout.required if c not in found]
    if missing_required:
        raise SourceError(f"missing required column(s) for layout {layout.name}: {', '.join(missing_required)}")
    frame = raw.select(pl.col(SOURCE_ROW), *[pl.col(actual).alias(canon) for canon, actual in found.items()])
    absent = [c for c in layout.optional if c not in found]
    return frame.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in absent])


def _clean_text(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String).str.strip_chars()


def status_of(column: str) -> pl.Expr:
    """The publisher's symbol for a missing value, an 'invalid: ...' marker for junk, NULL for a number."""
    text = _clean_text(column)
    key = text.fill_null("").str.to_lowercase()
    numeric = text.str.replace_all(",", "").str.contains(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
    canonical = (
        pl.when(key.is_in(list(STATUS_SYMBOLS)))
        .then(key)
        .when(key.is_in(list(SYMBOL_ALIASES)))
        .then(key.replace_strict(dict(SYMBOL_ALIASES), default=None, return_dtype=pl.String))
    )
    return (
        pl.when(numeric.fill_null(False))
        .then(pl.lit(None, dtype=pl.String))
        .otherwise(canonical.otherwise(pl.lit(INVALID_PREFIX) + text))
    )


def as_float(column: str) -> pl.Expr:
    return _clean_text(column).str.replace_all(",", "").cast(pl.Float64, strict=False)


def as_count(column: str) -> pl.Expr:
    """A count: whole numbers only (a fractional count becomes NULL and its status marks it invalid)."""
    value = as_float(column)
    return pl.when(value == value.floor()).then(value).cast(pl.Int64)


def count_status(column: str) -> pl.Expr:
    value = as_float(column)
    fractional = value.is_not_null() & (value != value.floor())
    return pl.when(fractional).then(pl.lit(INVALID_PREFIX) + _clean_text(column)).otherwise(status_of(column))


def code_text(column: str) -> pl.Expr:
    """Codes stay text; surrounding spaces go, nothing else is touched (lost zeros are caught by checks)."""
    return _clean_text(column).replace("", None)


def parse_dmy(column: str) -> pl.Expr:
    """GIAS and performance tables write DD-MM-YYYY (or DD/MM/YYYY); a workbook re-saved by Excel gives
    real date cells, which arrive as ISO text ('2020-09-01' or '2020-09-01 00:00:00')."""
    text = _clean_text(column).str.replace_all("/", "-")
    return pl.coalesce(
        text.str.to_date("%d-%m-%Y", strict=False),
        text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
    )


def extract_date(frame: pl.DataFrame, source: SourceInfo, dated_column: str, what: str) -> date:
    """A GIAS extract's date: from its file name (edubasealldata20250422) if it has one, else the latest
    date in `dated_column`, the most recent change the extract knows of."""
    latest = source.snapshot_date or frame.select(parse_dmy(dated_column).max()).item()
    if latest is None:
        raise SourceError(f"cannot date this {what}: no date in its name and no {dated_column} values")
    return latest


# The one spelling of a two-year span, academic or financial: '2023/24', '2023-24', '2023-2024', '202324',
# '2023_24' (file names), '2023 to 2024' and '2023–24' (titles, with the en dash publishers use).
_YEAR_PATTERN = re.compile(r"(?<!\d)(20\d{2})\s*(?:[-–_/]|to)?\s*(20\d{2}|\d{2})(?!\d)")


def _span_start(match: re.Match[str]) -> int | None:
    """The first year of a matched span, or None unless the second year follows it."""
    start, end = int(match.group(1)), match.group(2)
    return start if int(end[-2:]) == (start + 1) % 100 else None


def _first_span_start(text: str) -> int | None:
    """The first year of the first valid span written in the text; impossible spans before it are skipped."""
    for match in _YEAR_PATTERN.finditer(text):
        start = _span_start(match)
        if start is not None:
            return start
    return None


def academic_year_label(start: int) -> str:
    """2023 -> '2023/24', the warehouse's spelling of an academic year."""
    return f"{start}/{(start + 1) % 100:02d}"


def financial_year_label(start: int) -> str:
    """2023 -> '2023-24', the warehouse's spelling of a financial year (April to March)."""
    return f"{start}-{(start + 1) % 100:02d}"


def normalise_academic_year(text: str) -> str:
    """'2023/24', '2023-24', '2023-2024' or '202324' -> '2023/24'. Raises ValueError otherwise."""
    match = _YEAR_PATTERN.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not an academic year: {text!r} (expected e.g. 2023/24)")
    start = _span_start(match)
    if start is None:
        raise ValueError(f"not an academic year: {text!r} (the second year must follow the first)")
    return academic_year_label(start)


def academic_year_in_text(text: str) -> str | None:
    """The first academic year written in a file or folder name, if any."""
    start = _first_span_start(text)
    return None if start is None else academic_year_label(start)


def financial_year_in_text(text: str) -> str | None:
    """'2021-22', '2021-2022', '2021 to 2022' or '202122' in the text -> '2021-22'; None unless the years
    are consecutive."""
    start = _first_span_start(text)
    return None if start is None else financial_year_label(start)


def academic_year_start(academic_year: str) -> int:
    return int(academic_year[:4])


def spring_census_date(academic_year: str) -> date:
    """The January (spring) census day: the third Thursday of January in the year's second calendar year."""
    first = date(academic_year_start(academic_year) + 1, 1, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(weeks=2)
