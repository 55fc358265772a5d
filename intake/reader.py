"""What a file is, by its bytes and header (never its name), and reading it as text columns."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import polars as pl

from sendflow.core.settings import get_settings
from sendflow.intake.census_xml import XML_HEAD_BYTES, looks_like_xml, read_pupil_xml, xml_encoding
from sendflow.intake.decoding import Decoder, decode
from sendflow.intake.delimited import fewest_fields, read_csv
from sendflow.intake.header import header_names, header_row_index
from sendflow.intake.limits import SheetLimits
from sendflow.intake.raw import HEADER_SEARCH_ROWS, RawTable, preamble
from sendflow.intake.spreadsheets import is_spreadsheet, read_spreadsheet
from sendflow.intake.structure import leading_rows
from sendflow.transforms.common import (
    SOURCE_ROW,
    Layout,
)


def read_table(path: Path, layouts: Iterable[Layout], limits: SheetLimits | None = None) -> RawTable:
    """Read a CSV, or the spreadsheet sheet whose header best matches a known layout; all cells as text.

    The header is looked for in the first rows, not assumed to be the first: publishers put titles,
    notes and multi-row labels above it. A workbook is read within `limits` (intake/limits.py); without
    them, within those the environment's settings give, as `sendflow` itself would.
    """
    with path.open("rb") as handle:
        head = handle.read(XML_HEAD_BYTES)
        if _is_text(path, head):
            return read_csv(decode(head + handle.read(), path.name), path.name, list(layouts))
    return _read_markup(path, head, list(layouts), limits)


def _is_text(path: Path, head: bytes) -> bool:
    """Neither a workbook nor an XML return: a CSV (the one place this is decided, for both readers)."""
    return not is_spreadsheet(path, head) and not looks_like_xml(head)


def _read_markup(path: Path, head: bytes, layouts: list[Layout], limits: SheetLimits | None) -> RawTable:
    if is_spreadsheet(path, head):
        return read_spreadsheet(path, layouts, limits or SheetLimits.from_settings(get_settings()))
    return RawTable(read_pupil_xml(path), "xml", xml_encoding(head))


HEAD_BYTES = 1 << 20


def read_head(path: Path, layouts: Iterable[Layout], limits: SheetLimits | None = None) -> RawTable:
    """Enough of a file to identify it: a CSV's first rows (a national pupil census need not be read
    whole to know what it is); spreadsheets (within `limits`, as for read_table) and XML returns whole."""
    layouts = list(layouts)
    with path.open("rb") as handle:
        start = handle.read(max(HEAD_BYTES, XML_HEAD_BYTES))
    head = start[:XML_HEAD_BYTES]
    if not _is_text(path, head):
        return _read_markup(path, head, layouts, limits)
    if len(start) < HEAD_BYTES:  # the whole file, already read
        return read_csv(decode(start, path.name), path.name, layouts)
    # The same decoder as the whole file's: a UTF-16 or mixed head is refused now, with the same message.
    text = Decoder(path.name).feed(start)
    leading = leading_rows(text, HEADER_SEARCH_ROWS + 1)
    index, _ = header_row_index(leading[:HEADER_SEARCH_ROWS], layouts)
    header = header_names(leading[index]) if len(leading) > index else []
    frame = pl.DataFrame(schema={SOURCE_ROW: pl.Int64, **dict.fromkeys(header, pl.String)})
    return RawTable(
        frame, "csv", None, None, index + 1, preamble(leading[:index]), path, partial=True,
        fewest_fields=fewest_fields(header, layouts),
    )  # fmt: skip
