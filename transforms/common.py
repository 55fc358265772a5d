"""Building blocks shared by every dataset's transforms: layouts, column harmonisation, symbol parsing."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
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


class CellKind(StrEnum):
    """What a typed cell of a layout holds, and so how `parse_cells` parses it. Every kind reads ASCII digits
    only: a digit of another script ('٣٤٤', '２４４') is junk, never a number."""

    COUNT = "count"  # a whole number: '1,234', '12.0', '1e3'; '12.5' is invalid
    AMOUNT = "amount"  # money or any other decimal: '-1,234.56'
    POINTS = "points"  # a percentage on 0-100: '46.9', or '46.9%'
    FRACTION = "fraction"  # a percentage as a fraction of 1: '0.469'; '46.9%' still reads as 46.9
    # One of the two, as the file's own bare cells say (resolve_percentages); '%' cells are always points.
    POINTS_OR_FRACTION = "points_or_fraction"
    DATE = "date"  # DD-MM-YYYY or DD/MM/YYYY; ISO YYYY-MM-DD (a workbook's date cell), a time of day ignored


# Every number's magnitude stays below 2**53: up to there Float64 holds every whole number exactly, so a count
# reaches Int64 unchanged; anything larger (or inf, nan, 1e400) is invalid on its row, not a cast error.
MAX_EXACT = 2**53
# The column a build adds, naming the cells of a row that are neither a value nor a publisher symbol where the
# table has no status column of their own to say so; its suite quarantines any row that names one.
INVALID_CELLS = "invalid_cells"


def cells(kind: CellKind, *columns: str) -> tuple[tuple[str, CellKind], ...]:
    """`Layout.cells` entries: each of `columns` holds `kind`."""
    return tuple((column, kind) for column in columns)


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
    # The typed cells (counts, money, percentages with their convention, dates) and what each holds; every
    # other column is text. Builds parse them by this declaration (parse_cells), the tests generate cells by it.
    cells: tuple[tuple[str, CellKind], ...] = ()
    # Columns at the end of the header that the publisher's data rows leave out, in order (GIAS's 2017 academy
    # links name HasSharedHT last and no row carries it): a row short of exactly these is sound, and they are
    # empty. A row short of any other column is still held back, and a last row short of them is no truncation.
    omitted_trailing: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        undeclared = [column for column, _ in self.cells if column not in self.columns]
        if undeclared:
            raise ValueError(f"layout {self.name} types column(s) it does not have: {', '.join(undeclared)}")
        if not set(self.omitted_trailing) <= set(self.optional):
            raise ValueError(f"layout {self.name} lets rows leave out column(s) that are not optional")

    def fewest_fields(self, header: Sequence[str]) -> int:
        """The fewest fields a row under this header may have: fewer than the header's only where the header
        ends with the columns this layout's rows may leave out."""
        width, tail = len(header), len(self.omitted_trailing)
        if tail and [header_key(c) for c in header[width - tail :]] == [header_key(c) for c in self.omitted_trailing]:
            return width - tail
        return width

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional

    def kind(self, column: str) -> CellKind:
        for name, kind in self.cells:
            if name == column:
                return kind
        raise KeyError(f"layout {self.name} declares no kind of cell for {column!r}")

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


# An ASCII number, thousands grouped by commas or not at all ('1,234.5', '1234.5'; not '12,34' or '0,5', which
# could be a decimal comma), with an optional exponent. `\d` would match any script's digits: never used here.
NUMBER = r"-?(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"
_PERCENT = rf"^({NUMBER})\s*%$"
# Dates (with '/' read as '-'): a year from 1000 to 2999, so that '01-09-20' is no date in the year 20.
_DMY = r"^[0-9]{1,2}-[0-9]{1,2}-[12][0-9]{3}$"
_ISO = r"^([12][0-9]{3}-[0-9]{1,2}-[0-9]{1,2})(?:[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?$"
_SYMBOLS: Mapping[str, str] = {**{symbol: symbol for symbol in STATUS_SYMBOLS}, **SYMBOL_ALIASES}
_VALUE_TYPES: Mapping[CellKind, pl.DataType] = {
    CellKind.COUNT: pl.Int64(), CellKind.AMOUNT: pl.Float64(), CellKind.POINTS: pl.Float64(),
    CellKind.FRACTION: pl.Float64(), CellKind.DATE: pl.Date(),
}  # fmt: skip

# The parse runs in steps, each step one `with_columns` over every column parsed (the text, then the number,
# then its bound...), each reading the columns the step before made: every regex and cast runs once per
# cell. Written as one expression, the value would be re-derived at each use (the bound, the whole-number
# test, the status), several times over.
_TEXT, _NUMBER, _MARKED, _DATED = "text:", "number:", "marked:", "dated:"
# parse_cells adds each typed column's value and status under these names; the builds' final selects drop them.
_VALUE = "__sendflow_value:"
_STATUS = "__sendflow_status:"


def _number(text: pl.Expr) -> pl.Expr:
    return (
        pl.when(text.str.contains(f"^{NUMBER}$"))
        .then(text.str.replace_all(",", "", literal=True))
        .cast(pl.Float64, strict=False)
    )


def _steps(texts: pl.DataFrame, kinds: Mapping[str, CellKind]) -> pl.DataFrame:
    """Per column c: text:c (stripped); number:c, the number of a bare cell, and for percentages marked:c,
    the number of a '46.9%' cell, each NULL unless NUMBER below MAX_EXACT; for dates dated:c ('/' as '-')."""
    numbers = [c for c, kind in kinds.items() if kind is not CellKind.DATE]
    percents = [
        c for c, kind in kinds.items() if kind in (CellKind.POINTS, CellKind.FRACTION, CellKind.POINTS_OR_FRACTION)
    ]
    dates = [c for c, kind in kinds.items() if kind is CellKind.DATE]
    steps = texts.select(
        *(pl.col(c).cast(pl.String).str.strip_chars().alias(_TEXT + c) for c in kinds),
        *(pl.col(c).cast(pl.String).str.strip_chars().str.extract(_PERCENT, 1).alias(_MARKED + c) for c in percents),
    )
    steps = steps.with_columns(
        *(_number(pl.col(_TEXT + c)).alias(_NUMBER + c) for c in numbers),
        *(_number(pl.col(_MARKED + c)).alias(_MARKED + c) for c in percents),
        *(pl.col(_TEXT + c).str.replace_all("/", "-", literal=True).alias(_DATED + c) for c in dates),
    )
    bounded = [_NUMBER + c for c in numbers] + [_MARKED + c for c in percents]
    # inf, and 1e400 (which reads as inf), fail the comparison too.
    return steps.with_columns(pl.when(pl.col(b).abs() < MAX_EXACT).then(pl.col(b)).alias(b) for b in bounded)


def _value(column: str, kind: CellKind) -> pl.Expr:
    number = pl.col(_NUMBER + column)
    if kind is CellKind.COUNT:  # within MAX_EXACT, a whole Float64 is exactly its Int64
        return pl.when(number == number.floor()).then(number).cast(pl.Int64)
    if kind is CellKind.AMOUNT:
        return number
    if kind in (CellKind.POINTS, CellKind.FRACTION):
        return pl.coalesce(pl.col(_MARKED + column), number * (100.0 if kind is CellKind.FRACTION else 1.0))
    if kind is CellKind.DATE:
        dated = pl.col(_DATED + column)
        dmy = pl.when(dated.str.contains(_DMY)).then(dated).str.to_date("%d-%m-%Y", strict=False)
        return pl.coalesce(dmy, dated.str.extract(_ISO, 1).str.to_date("%Y-%m-%d", strict=False))
    raise ValueError(f"{column}: a {kind} cell is read as POINTS or FRACTION, as its file says (resolve_percentages)")


def _status(column: str) -> pl.Expr:
    """NULL where the cell gave a value, else its publisher symbol, else 'invalid:<text>'. The symbol is
    looked up for the cells without a value only (NULL text costs nothing): in a real file they are few."""
    missing, text = pl.col(_VALUE + column).is_null(), pl.col(_TEXT + column)
    key = pl.when(missing).then(text.fill_null("")).str.to_lowercase()
    symbol = key.replace_strict(_SYMBOLS, default=None, return_dtype=pl.String)
    return pl.when(missing).then(pl.coalesce(symbol, pl.lit(INVALID_PREFIX) + text))


def _parse(texts: pl.DataFrame, kinds: Mapping[str, CellKind]) -> pl.DataFrame:
    """For each column c of `kinds`, its value (_VALUE + c) and status (_STATUS + c): a value, or NULL with
    the publisher's symbol or 'invalid:<text>' in the status, never both NULL."""
    steps = _steps(texts, kinds)
    steps = steps.with_columns(_value(c, kind).alias(_VALUE + c) for c, kind in kinds.items())
    return steps.select(*(pl.col(_VALUE + c) for c in kinds), *(_status(c).alias(_STATUS + c) for c in kinds))


def parse_series(cells: pl.Series, kind: CellKind) -> tuple[pl.Series, pl.Series]:
    """A column of cells as (values, statuses)."""
    parsed = _parse(pl.DataFrame({"cell": cells}), {"cell": kind})
    return parsed[_VALUE + "cell"].alias(cells.name), parsed[_STATUS + "cell"].alias(cells.name)


def _parsed(column: str, kind: CellKind, part: int) -> pl.Expr:
    dtype = _VALUE_TYPES[kind] if part == 0 else pl.String()
    return pl.col(column).map_batches(lambda cells: parse_series(cells, kind)[part], dtype, is_elementwise=True)


def as_float(column: str) -> pl.Expr:
    """Money or any decimal (CellKind.AMOUNT): NULL unless the cell is NUMBER within MAX_EXACT."""
    return _parsed(column, CellKind.AMOUNT, 0)


def status_of(column: str) -> pl.Expr:
    """The status of an AMOUNT cell: NULL for a number, the publisher's symbol, or 'invalid:<text>'."""
    return _parsed(column, CellKind.AMOUNT, 1)


def as_count(column: str) -> pl.Expr:
    """A count: whole numbers only (a fractional count becomes NULL and its status marks it invalid)."""
    return _parsed(column, CellKind.COUNT, 0)


def count_status(column: str) -> pl.Expr:
    return _parsed(column, CellKind.COUNT, 1)


def as_percent(column: str, kind: CellKind) -> pl.Expr:
    """A percentage on 0-100. '46.9%' is 46.9 whatever the convention; a bare cell is points (POINTS) or a
    fraction of 1 (FRACTION, times 100)."""
    return _parsed(column, kind, 0)


def percent_status(column: str) -> pl.Expr:
    # Whether a cell is a percentage does not depend on the convention: POINTS parses exactly the same cells.
    return _parsed(column, CellKind.POINTS, 1)


def code_text(column: str) -> pl.Expr:
    """Codes stay text; surrounding spaces go, nothing else is touched (lost zeros are caught by checks)."""
    return _clean_text(column).replace("", None)


def parse_dmy(column: str) -> pl.Expr:
    """GIAS and performance tables write DD-MM-YYYY (or DD/MM/YYYY); a workbook re-saved by Excel gives
    real date cells, which arrive as ISO text ('2020-09-01' or '2020-09-01 00:00:00'). ASCII digits only,
    a year of four digits, a real day of a real month: anything else is NULL, and date_status says invalid."""
    return _parsed(column, CellKind.DATE, 0)


def date_status(column: str) -> pl.Expr:
    return _parsed(column, CellKind.DATE, 1)


def parse_cells(frame: pl.DataFrame, typed: Layout | Mapping[str, CellKind]) -> pl.DataFrame:
    """The frame with each typed column present parsed once, as a layout declares it (its POINTS_OR_FRACTION
    cells resolved for this file) or as `typed` names kinds; its text is kept. cell_value, cell_status and
    invalid_cells read what this adds."""
    kinds = dict(resolve_percentages(frame, typed).cells) if isinstance(typed, Layout) else dict(typed)
    present = {column: kind for column, kind in kinds.items() if column in frame.columns}
    return pl.concat([frame, _parse(frame, present)], how="horizontal") if present else frame


def cell_value(column: str) -> pl.Expr:
    """A typed cell's value (NULL for a symbol or junk), from parse_cells."""
    return pl.col(_VALUE + column)


def cell_status(column: str) -> pl.Expr:
    """NULL where cell_value gave a value; otherwise the publisher's symbol or 'invalid:<text>'."""
    return pl.col(_STATUS + column)


def invalid_cells(columns: Iterable[str]) -> pl.Expr:
    """INVALID_CELLS: which of `columns` (typed cells with no status column of their own in the table) hold
    neither a value nor a publisher symbol on the row, as 'NORG, PNUMEAL'; NULL when none does."""
    named = [pl.when(cell_status(c).str.starts_with(INVALID_PREFIX)).then(pl.lit(c)) for c in columns]
    if not named:
        return pl.lit(None, dtype=pl.String).alias(INVALID_CELLS)
    return pl.concat_str(named, separator=", ", ignore_nulls=True).replace("", None).alias(INVALID_CELLS)


def _rows(frame: pl.DataFrame, mask: pl.Series) -> str:
    rows = frame[SOURCE_ROW].filter(mask).to_list()
    shown = ", ".join(str(r) for r in rows[:5])
    return shown + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")


def resolve_percentages(frame: pl.DataFrame, layout: Layout) -> Layout:
    """The layout with its POINTS_OR_FRACTION cells made POINTS or FRACTION for this file.

    A file writes its bare percentages one way: fractions of 1 if no bare percentage in any of these columns
    is above 1 (the 2023-24 re-save, 0.0450819672131), else points (2018-19, 1.8). A cell written with '%'
    is points whatever the rest do. A column holding both '%' cells and bare non-zero cells read as fractions
    is ambiguous (is a bare 0.5 half, or half a percent?): the file is refused naming the rows of both.
    """
    inferred = [c for c, kind in layout.cells if kind is CellKind.POINTS_OR_FRACTION and c in frame.columns]
    if not any(kind is CellKind.POINTS_OR_FRACTION for _, kind in layout.cells):
        return layout
    steps = _steps(frame, dict.fromkeys(inferred, CellKind.POINTS_OR_FRACTION))
    peaks = [pl.col(_NUMBER + column).max() for column in inferred]
    peak = steps.select(pl.max_horizontal(peaks)).item() if peaks else None
    fractions = peak is not None and peak <= 1.0
    if fractions:
        for column in inferred:
            marked, bare = steps[_MARKED + column].is_not_null(), (steps[_NUMBER + column] != 0).fill_null(False)
            if marked.any() and bare.any():
                raise SourceError(
                    f"column {column} mixes percentages written with '%' (rows {_rows(frame, marked)}) and bare "
                    f"numbers no larger than 1 (rows {_rows(frame, bare)}), which may be fractions (0.469 for "
                    "46.9%) or percentages below 1: write every cell of the column one way"
                )
    kind = CellKind.FRACTION if fractions else CellKind.POINTS
    resolved = tuple((c, kind if k is CellKind.POINTS_OR_FRACTION else k) for c, k in layout.cells)
    return replace(layout, cells=resolved)


def extract_date(frame: pl.DataFrame, source: SourceInfo, dated_column: str, what: str) -> date:
    """A GIAS extract's date: from its file name (edubasealldata20250422) if it has one, else the latest
    date in `dated_column`, the most recent change the extract knows of."""
    latest = source.snapshot_date or frame.select(parse_dmy(dated_column).max()).item()
    if latest is None:
        raise SourceError(f"cannot date this {what}: no date in its name and no {dated_column} values")
    return latest


# The one spelling of a two-year span, academic or financial: '2023/24', '2023-24', '2023-2024', '202324',
# '2023_24' (file names), '2023 to 2024' and '2023–24' (titles, with the en dash publishers use).
_YEAR_PATTERN = re.compile(r"(?<![0-9])(20[0-9]{2})\s*(?:[-–_/]|to)?\s*(20[0-9]{2}|[0-9]{2})(?![0-9])")


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
