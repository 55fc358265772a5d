"""What intake hands on: the table read as text columns, the identification of its layout, and the refusal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sendflow.transforms.common import (
    SOURCE_ROW,
    Layout,
)


class Rejection(Exception):
    """The file cannot be loaded as offered; the message says why and what to do. `quarantine` holds the rows
    validation held back when the refusal came after it (they are still recorded, with their reasons).
    `details` is longer text for the reason file beside the rejected copy (every known layout, say): the
    message stays one short line for the ledger and the terminal."""

    def __init__(self, message: str, quarantine: pl.DataFrame | None = None, details: str | None = None) -> None:
        super().__init__(message)
        self.quarantine = quarantine
        self.details = details


HEADER_SEARCH_ROWS = 30


@dataclass(frozen=True)
class RawTable:
    frame: pl.DataFrame  # every column as text, plus source_row_number (the file's own row numbers)
    file_format: str  # "csv" or "xlsx"/"ods"/...
    encoding: str | None
    sheet: str | None = None
    header_row: int = 1  # where the header was found: publishers put titles and notes above it
    preamble: tuple[str, ...] = ()  # the text of those title rows, e.g. a DSG sheet's financial year
    path: Path | None = None
    partial: bool = False  # only the header was read (a large CSV): rows come from batches()
    # (source_row_number, reasons) of rows whose shape is wrong (intake/structure.py); None: none found.
    ragged: pl.DataFrame | None = None
    # The fewest fields a row may have (a layout's omitted_trailing columns); None: the header's width.
    fewest_fields: int | None = None

    @property
    def header(self) -> list[str]:
        return [c for c in self.frame.columns if c != SOURCE_ROW]


@dataclass(frozen=True)
class Identification:
    layout: Layout
    missing: tuple[str, ...]


# Rows of cells as read (a CSV reader gives str, a sheet may give None): read-only, so either fits.
Grid = Sequence[Sequence[str | None]]


def preamble(rows: Grid) -> tuple[str, ...]:
    return tuple(cell.strip() for row in rows for cell in row if cell and cell.strip())


def with_header(grid: pl.DataFrame, header_index: int, header: list[str]) -> pl.DataFrame:
    """Data rows below the header, named by it, numbered as the file numbers them (first row = 1)."""
    data = grid.slice(header_index + 1)
    data.columns = header
    return data.with_row_index(SOURCE_ROW, offset=header_index + 2).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))
