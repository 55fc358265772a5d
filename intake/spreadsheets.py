"""XLSX, XLS and ODS workbooks: the sheet whose header best matches a known layout, every cell as text."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import polars as pl

from sendflow.intake.header import header_names, header_row_index
from sendflow.intake.ods import is_ods, read_ods
from sendflow.intake.raw import (
    HEADER_SEARCH_ROWS,
    RawTable,
    Rejection,
    preamble,
    with_header,
)
from sendflow.transforms.common import (
    SOURCE_ROW,
    Layout,
)

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}


def is_spreadsheet(path: Path, head: bytes) -> bool:
    return path.suffix.lower() in SPREADSHEET_SUFFIXES or head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0"))


def _spreadsheet_format(path: Path) -> str:
    """By content: ODS and XLSX are both zip files."""
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    return "ods" if is_ods(path) else "xlsx"


def _sheets(path: Path, file_format: str) -> dict[str, tuple[pl.DataFrame, int, int]]:
    """Every sheet as a grid of text cells (no header applied), with the rows and columns above and
    left of it, so row numbers and column positions are the sheet's own."""
    if file_format == "ods":
        grids = {}
        for name, rows in read_ods(path).items():
            width = max((len(r) for r in rows), default=0)
            padded = [r + [None] * (width - len(r)) for r in rows]
            schema = {f"column_{i + 1}": pl.String for i in range(width)}
            grids[name] = (pl.DataFrame(padded, schema=schema, orient="row"), 0, 0)
        return grids
    import fastexcel

    try:
        names = fastexcel.read_excel(path).sheet_names
    except Exception as error:
        raise Rejection(f"{path.name} looks like a spreadsheet but cannot be opened: {error}") from error
    offsets = _leading_blanks(path) if file_format == "xlsx" else {}
    grids = {}
    for name in names:
        try:
            grid = pl.read_excel(
                path, sheet_name=name, has_header=False, infer_schema_length=0,
                drop_empty_rows=False, drop_empty_cols=False,
            )  # fmt: skip
        except Exception:  # an empty or chart-only sheet has nothing to offer
            continue
        grids[name] = (grid, *offsets.get(name, (0, 0)))
    return grids


def _leading_blanks(path: Path) -> dict[str, tuple[int, int]]:
    """Calamine starts a sheet at its first filled cell; count the blank rows above and columns left of it
    (columns judged on the first rows, where headers are and where a position matters)."""
    import openpyxl

    with path.open("rb") as handle:  # a file object: openpyxl judges a path by its suffix, not its bytes
        try:
            workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
        except Exception:  # calamine read it; without offsets the row numbers merely start at its first row
            return {}
        try:
            return {sheet.title: _first_filled_cell(sheet) for sheet in workbook.worksheets}
        finally:
            workbook.close()


def _first_filled_cell(sheet: Any) -> tuple[int, int]:
    first_row, first_column = None, None
    for number, row in enumerate(sheet.iter_rows(max_row=HEADER_SEARCH_ROWS * 4, values_only=True), 1):
        filled = [i for i, value in enumerate(row, 1) if value not in (None, "")]
        if filled:
            first_row = first_row or number
            first_column = min(first_column or filled[0], filled[0])
    return (first_row or 1) - 1, (first_column or 1) - 1


def read_spreadsheet(path: Path, layouts: list[Layout]) -> RawTable:
    file_format = _spreadsheet_format(path)
    try:
        sheets = _sheets(path, file_format)
    except (zipfile.BadZipFile, ElementTree.ParseError, KeyError) as error:
        raise Rejection(f"{path.name} looks like a spreadsheet but cannot be read: {error}") from error
    sheets = {name: sheet for name, sheet in sheets.items() if sheet[0].height}
    if not sheets:
        raise Rejection(f"{path.name} has no sheet with any rows")
    scored: list[tuple[float, int, str, int, list[list[str | None]]]] = []
    for name, (grid, _, _) in sheets.items():
        leading = [list(row) for row in grid.head(HEADER_SEARCH_ROWS).iter_rows()]
        index, score = header_row_index(leading, layouts)
        scored.append((score, -len(scored), name, index, leading))
    _, _, sheet, index, leading = max(scored)
    grid, blank_rows, blank_columns = sheets[sheet]
    header = header_names(grid.row(index), first_position=blank_columns + 1)
    frame = with_header(grid, index, header).with_columns(pl.col(SOURCE_ROW) + blank_rows)
    return RawTable(frame, file_format, None, sheet, blank_rows + index + 1, preamble(leading[:index]))
