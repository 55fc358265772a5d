"""What a file is, by its bytes and header (never its name), and reading it as text columns."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from sendflow.intake.decoding import decode
from sendflow.intake.delimited import read_csv
from sendflow.intake.header import header_names, header_row_index
from sendflow.intake.raw import HEADER_SEARCH_ROWS, RawTable, preamble
from sendflow.intake.spreadsheets import is_spreadsheet, read_spreadsheet
from sendflow.transforms.common import (
    SOURCE_ROW,
    Layout,
)


def read_table(path: Path, layouts: Iterable[Layout]) -> RawTable:
    """Read a CSV, or the spreadsheet sheet whose header best matches a known layout; all cells as text.

    The header is looked for in the first rows, not assumed to be the first: publishers put titles,
    notes and multi-row labels above it.
    """
    layouts = list(layouts)
    with path.open("rb") as handle:
        head = handle.read(8)
    if is_spreadsheet(path, head):
        return read_spreadsheet(path, layouts)
    if _is_xml(head):
        from sendflow.intake.census_xml import read_pupil_xml

        return RawTable(read_pupil_xml(path), "xml", "utf-8")
    text, encoding = decode(path.read_bytes(), path.name)
    return read_csv(text, path.name, layouts, encoding)


def _is_xml(head: bytes) -> bool:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.removeprefix(head[:2]).decode("utf-16-le" if head[:2] == codecs.BOM_UTF16_LE else "utf-16-be",
                                                  errors="ignore").lstrip().startswith("<")  # fmt: skip
    return head.removeprefix(codecs.BOM_UTF8).lstrip().startswith(b"<")


HEAD_BYTES = 1 << 20


def read_head(path: Path, layouts: Iterable[Layout]) -> RawTable:
    """Enough of a file to identify it: a CSV's first rows (a national pupil census need not be read
    whole to know what it is); spreadsheets and XML returns, which are small, whole."""
    layouts = list(layouts)
    with path.open("rb") as handle:
        start = handle.read(HEAD_BYTES)
    if is_spreadsheet(path, start[:8]) or _is_xml(start[:64]) or len(start) < HEAD_BYTES:
        return read_table(path, layouts)
    text = codecs.getincrementaldecoder("utf-8-sig")(errors="replace").decode(start)
    leading = list(itertools.islice(csv.reader(io.StringIO(text)), HEADER_SEARCH_ROWS + 1))
    index, _ = header_row_index(leading[:HEADER_SEARCH_ROWS], layouts)
    header = header_names(leading[index]) if len(leading) > index else []
    frame = pl.DataFrame(schema={SOURCE_ROW: pl.Int64, **dict.fromkeys(header, pl.String)})
    return RawTable(frame, "csv", None, None, index + 1, preamble(leading[:index]), path, partial=True)
