"""The cell invariant, generated: through every registered layout's real `build`, a non-empty typed cell
gives either its parsed value or a non-NULL status (its own status column, or INVALID_CELLS naming it).

Driven by the registry: every layout of every dataset that declares typed cells (`Layout.cells`) is tried,
so a new dataset is covered as soon as it is registered. Each example puts a list of generated cells, one
per row, into one typed column of a small file of that layout, and judges every row against an oracle
written here, independently of transforms.common: the ASCII number grammar, the symbols, the percentage
and date forms, the 2**53 bound.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sendflow.registry.datasets import DATASETS, Dataset
from sendflow.transforms import dsg_allocation, ees, la_high_needs_spend
from sendflow.transforms.common import (
    INVALID_CELLS,
    INVALID_PREFIX,
    SOURCE_ROW,
    STATUS_SYMBOLS,
    SYMBOL_ALIASES,
    CellKind,
    Layout,
    SourceError,
    SourceInfo,
    match_columns,
)
from tests.transforms import test_dsg_allocation as dsg_sheet
from tests.transforms import test_la_high_needs_spend as hn_sheet

# --- the oracle -----------------------------------------------------------------------------------------

# Unicode White_Space, which Polars strips (Python's str.strip also strips \x1c-\x1f, which Polars keeps).
WHITE_SPACE = "".join(
    chr(c)
    for c in (
        *range(0x09, 0x0E),
        0x20,
        0x85,
        0xA0,
        0x1680,
        *range(0x2000, 0x200B),
        0x2028,
        0x2029,
        0x202F,
        0x205F,
        0x3000,
    )
)
WS = "[" + re.escape(WHITE_SPACE) + "]"
NUMBER = r"-?(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"
LIMIT = 2.0**53


@dataclass(frozen=True)
class Expected:
    """What a cell must give: 'symbol' (with its contract symbol), 'value' (one of `values`) or 'invalid'."""

    outcome: str
    symbol: str | None = None
    values: tuple[float | date, ...] = ()


def _number(text: str) -> float | None:
    if not re.fullmatch(NUMBER, text):
        return None
    value = float(text.replace(",", ""))
    return value if math.isfinite(value) and abs(value) < LIMIT else None


def _date(text: str) -> date | None:
    text = text.replace("/", "-")
    dmy = re.fullmatch(r"([0-9]{1,2})-([0-9]{1,2})-([12][0-9]{3})", text)
    iso = re.fullmatch(
        r"([12][0-9]{3})-([0-9]{1,2})-([0-9]{1,2})(?:[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?", text
    )
    try:
        if dmy:
            return date(int(dmy[3]), int(dmy[2]), int(dmy[1]))
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
    except ValueError:  # no such day
        return None
    return None


def expected(cell: str | None, kind: CellKind) -> Expected:
    text = (cell or "").strip(WHITE_SPACE)
    key = text.lower()
    if key in STATUS_SYMBOLS:
        return Expected("symbol", key)
    if key in SYMBOL_ALIASES:
        return Expected("symbol", SYMBOL_ALIASES[key])
    if kind is CellKind.DATE:
        day = _date(text)
        return Expected("value", values=(day,)) if day else Expected("invalid")
    if kind in (CellKind.POINTS, CellKind.FRACTION, CellKind.POINTS_OR_FRACTION):
        marked = re.fullmatch(f"({NUMBER}){WS}*%", text)
        if marked:
            value = _number(marked[1])
            return Expected("value", values=(value,)) if value is not None else Expected("invalid")
    value = _number(text)
    if value is None or (kind is CellKind.COUNT and value != math.floor(value)):
        return Expected("invalid")
    scaled = (value, value * 100.0) if kind is not CellKind.POINTS else (value,)
    return Expected("value", values=scaled if kind in (CellKind.FRACTION, CellKind.POINTS_OR_FRACTION) else (value,))


# --- the cells --------------------------------------------------------------------------------------------

DIGIT_SCRIPTS = ("0123456789", "٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "०१२३४५६७८९", "０１２３４５６７８９", "০১২৩৪৫৬৭৮৯")
SYMBOL_SPELLINGS = ("c", "x", "z", ":", "low", "u", "NA", "n/a", "..", "~", "C", "LOW", "X", "Na")
ODD = ("inf", "-inf", "Infinity", "NaN", "nan", "1e400", "-1e400", "1e-400", "99999999999999999999999",
       "9007199254740992", "9007199254740991", "-0", "+5", ".5", "5.", "1_000", "0x1A", "1,2", "0,5",
       "12,34", "1,234", "1,234,567.5", "46.90%", "46.9 %", "%", "1e3", "2.5", "12.0", "01-09-2020",
       "1/9/2020", "2020-09-01", "2020-09-01 00:00:00", "31-02-2020", "01-09-20", "2020-09-01abc")  # fmt: skip


@st.composite
def numbers(draw: st.DrawFn) -> str:
    """Digits of any script (mostly ASCII), with a sign, grouping, decimals, an exponent or a '%'."""
    script = draw(st.sampled_from(DIGIT_SCRIPTS[:1] * 4 + DIGIT_SCRIPTS))
    digits = draw(st.lists(st.sampled_from(script), min_size=1, max_size=25))
    text = "".join(digits)
    if draw(st.booleans()) and len(text) > 3:
        grouped = f"{int(text):,}" if script == DIGIT_SCRIPTS[0] else ",".join(text[i : i + 3] for i in (0, 3))
        text = grouped
    if draw(st.booleans()):
        text += "." + "".join(draw(st.lists(st.sampled_from(script), min_size=1, max_size=6)))
    if draw(st.integers(0, 5)) == 0:
        text += draw(st.sampled_from(("e", "E", "e+", "e-"))) + str(draw(st.integers(0, 450)))
    sign = draw(st.sampled_from(("", "", "", "-", "+")))
    percent = draw(st.sampled_from(("", "", "", "%", " %")))
    return sign + text + percent


def _pad(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    space = st.sampled_from(("", "", " ", "\t", "\xa0", "\u3000", "\x00", "\x1c"))
    return st.tuples(space, text, space).map("".join)


CELLS: st.SearchStrategy[str | None] = st.one_of(
    _pad(numbers()),
    _pad(st.sampled_from(SYMBOL_SPELLINGS + ODD)),
    st.sampled_from(("", " ", "\t", None)),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
    st.text(alphabet="0123456789,.-+eE% ", max_size=10),
    st.text(alphabet=st.characters(categories=["Nd", "Cc", "L"]), max_size=6),
)

# --- a small file of each layout ----------------------------------------------------------------------------

BASELINE: dict[CellKind, str] = {
    CellKind.COUNT: "7",
    CellKind.AMOUNT: "7.5",
    CellKind.POINTS: "10",
    CellKind.FRACTION: "0.1",
    # A bare value above 1 on every other row: the file's percentages are points, so no mix is ambiguous.
    CellKind.POINTS_OR_FRACTION: "10",
    CellKind.DATE: "01-09-2020",
}
# Text cells: the EES conventions every EES layout shares, and one plain code for everything else.
TEXT: dict[str, str] = {ees.TIME_PERIOD: "202324", ees.GEOGRAPHIC_LEVEL: "Local authority"}
SOURCE = SourceInfo(
    layout="",
    source_name="property.csv",
    academic_year="2023/24",
    snapshot_date=date(2024, 9, 1),
    pupil_key=b"property-test-key",
)


def _generic(layout: Layout, rows: int, column: str | None) -> tuple[pl.DataFrame, SourceInfo]:
    """The layout's required columns and the typed column under test, every row the same plain values. One
    optional column at a time: two spellings of one column (PNUMUNCFL, PNUMUNCLF) are never in one file."""
    typed = dict(layout.cells)
    columns = [*layout.required, *(c for c in layout.optional if c == column)]
    values = {c: BASELINE[typed[c]] if c in typed else TEXT.get(c, "Q") for c in columns}
    frame = pl.DataFrame({c: [v] * rows for c, v in values.items()}, schema=dict.fromkeys(values, pl.String))
    frame = frame.with_row_index(SOURCE_ROW, offset=2).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))
    return frame, replace(SOURCE, layout=layout.name)


def _dsg(layout: Layout, rows: int, column: str | None) -> tuple[pl.DataFrame, SourceInfo]:
    las = [[f"{200 + n}", f"LA {n}", *dsg_sheet.CAMDEN[2:]] for n in range(rows)]
    frame = dsg_sheet.sheet(dsg_sheet.LETTERS, dsg_sheet.FORMULAS, dsg_sheet.ENGLAND, *las)
    return frame, SourceInfo(layout.name, "dsg.ods", preamble=dsg_sheet.TITLE)


def _benchmarking(layout: Layout, rows: int, column: str | None) -> tuple[pl.DataFrame, SourceInfo]:
    las = [hn_sheet.la_row(f"{800 + n}", f"LA {n}", hn_sheet.BUDGET, hn_sheet.OUTTURN) for n in range(rows)]
    return hn_sheet.sheet(las), hn_sheet.benchmarking()


# Layouts a flat file of plain values cannot stand for (a title year, a sheet of blocks): the unit tests'
# own sheets. A layout that needs one and has none fails test_every_typed_layout_has_a_working_file.
SPECIAL: dict[str, Callable[[Layout, int, str | None], tuple[pl.DataFrame, SourceInfo]]] = {
    dsg_allocation.ALLOCATIONS_SUMMARY.name: _dsg,
    la_high_needs_spend.BENCHMARKING.name: _benchmarking,
}


def small_file(layout: Layout, rows: int, column: str | None = None) -> tuple[pl.DataFrame, SourceInfo]:
    """`rows` rows of plain values in a file of the layout (with `column`, if it is an optional one)."""
    return SPECIAL.get(layout.name, _generic)(layout, rows, column)


TYPED = [(dataset, layout) for dataset in DATASETS for layout in dataset.layouts if layout.cells]


def _id(case: tuple[Dataset, Layout]) -> str:
    return case[1].name


# --- judging one row --------------------------------------------------------------------------------------


def _status_columns(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if c.endswith("_status") or c == INVALID_CELLS]


def _names_invalid(rows: pl.DataFrame, column: str, text: str) -> bool:
    """A status says 'invalid:<text>' or INVALID_CELLS names the column, on one of the cell's rows."""
    statuses = [rows[c].to_list() for c in _status_columns(rows) if c != INVALID_CELLS]
    if any(s == INVALID_PREFIX + text for values in statuses for s in values):
        return True
    named = rows[INVALID_CELLS].to_list() if INVALID_CELLS in rows.columns else []
    return any(column in (n or "").split(", ") for n in named)


def _holds(rows: pl.DataFrame, values: tuple[float | date, ...]) -> bool:
    """One of the rows holds one of the values in a numeric or date column."""
    for name, dtype in rows.schema.items():
        if name == SOURCE_ROW:
            continue
        for found in rows[name].to_list():
            if found is None:
                continue
            for want in values:
                if isinstance(want, date) and dtype == pl.Date and found == want:
                    return True
                if isinstance(want, float) and dtype.is_numeric() and math.isclose(found, want, rel_tol=1e-9):
                    return True
    return False


def judge(before: pl.DataFrame, after: pl.DataFrame, row: int, column: str, cell: str | None, kind: CellKind) -> None:
    want = expected(cell, kind)
    text = (cell or "").strip(WHITE_SPACE)
    rows = after.filter(pl.col(SOURCE_ROW) == row)
    shown = f"{column}={cell!r} (row {row}, expected {want})"
    if want.outcome == "invalid":
        assert rows.height, f"the row of a non-empty cell vanished: {shown}"
        assert _names_invalid(rows, column, text), f"junk neither parsed nor marked invalid: {shown}\n{rows}"
        return
    assert not _names_invalid(rows, column, text), f"a value or symbol was marked invalid: {shown}\n{rows}"
    if want.outcome == "value":
        assert rows.height, f"the row of a value vanished: {shown}"
        assert _holds(rows, want.values), f"the parsed value is not in the output: {shown}\n{rows}"
        return
    # A symbol: no value to find; where it changed a status from the plain file's, it is the symbol.
    old = before.filter(pl.col(SOURCE_ROW) == row)
    for name in _status_columns(rows):
        if name == INVALID_CELLS or old.height != rows.height:
            continue
        for was, now in zip(old[name].to_list(), rows[name].to_list(), strict=True):
            assert was == now or now == want.symbol, f"{name} is {now!r} for a symbol: {shown}"


# --- the tests ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", TYPED, ids=_id)
def test_every_typed_layout_has_a_working_file(case: tuple[Dataset, Layout]) -> None:
    dataset, layout = case
    column = layout.cells[-1][0]  # the property test checks the file of every other typed column as it goes
    frame, source = small_file(layout, 2, column)
    table = dataset.build(frame, source)[dataset.table]
    assert table.height, f"{layout.name}: the plain file gives no rows; give it a small file in SPECIAL"
    assert match_columns(frame.columns, [column]), f"{layout.name}: the small file lacks {column}"


def test_the_registry_is_covered() -> None:
    # Every dataset that types any cell is exercised (pupil_census joins once its layout declares cells).
    typed = {dataset.name for dataset, _ in TYPED}
    assert {"school_census", "school_register", "school_links", "trust_membership", "la_ehcp",
            "la_high_needs_spend", "dsg_allocation"} <= typed  # fmt: skip


PROPERTY = settings(max_examples=15, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("case", TYPED, ids=_id)
def test_a_non_empty_cell_gives_its_value_or_a_status(case: tuple[Dataset, Layout]) -> None:
    dataset, layout = case
    plain: dict[str, pl.DataFrame] = {}  # the table of a one-row plain file, by the column under test

    @PROPERTY
    @given(column=st.sampled_from([c for c, _ in layout.cells]), cells=st.lists(CELLS, min_size=1, max_size=12))
    def check(column: str, cells: list[str | None]) -> None:
        if column not in plain:
            one, source = small_file(layout, 1, column)
            plain[column] = dataset.build(one, source)[dataset.table]
            assert plain[column].height, f"{layout.name}: the plain file with {column} gives no rows"
        before = plain[column]
        frame, source = small_file(layout, len(cells) + 1, column)  # the last row keeps its plain values
        data_rows = frame[SOURCE_ROW].to_list()[-(len(cells) + 1) :]
        rows = data_rows[: len(cells)]
        cell_of = dict(zip(rows, cells, strict=True))
        actual = match_columns(frame.columns, [column])[column]
        frame = (
            frame.with_columns(
                pl.col(SOURCE_ROW).replace_strict(cell_of, default=None, return_dtype=pl.String).alias("_cell")
            )
            .with_columns(
                pl.when(pl.col(SOURCE_ROW).is_in(rows)).then(pl.col("_cell")).otherwise(pl.col(actual)).alias(actual)
            )
            .drop("_cell")
        )
        try:
            built = dataset.build(frame, source)[dataset.table]
        except SourceError as error:
            # Only a percentage column may refuse the file, and only for a mix the oracle also sees.
            assert layout.kind(column) is CellKind.POINTS_OR_FRACTION, f"{column}: {error}"
            assert "mixes percentages" in str(error)
            return
        for row in rows:
            judge(before.with_columns(pl.lit(row).alias(SOURCE_ROW)), built, row, column, cell_of[row],
                  layout.kind(column))  # fmt: skip

    check()
