"""The tables behind the charts as CSV and XLSX, safe to open in a spreadsheet.

A text cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel and
LibreOffice (CSV injection: `=HYPERLINK(...)` in a school name becomes a live link, or worse). In CSV such a
cell gets a leading apostrophe, which spreadsheets read as "this is text"; in XLSX it is written as a string
cell marked quote-prefixed, so it stays text even when edited, and its text is unchanged. Numbers are never
touched: -3 stays the number -3. Cells hidden by disclosure control are written as `c`, as on the page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from sendflow.reports.model import ReportTable

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
MAX_SHEET_TITLE = 31  # Excel's limit


def is_dangerous(text: str) -> bool:
    return text.startswith(FORMULA_TRIGGERS)


def inert(text: str) -> str:
    """CSV: a leading apostrophe makes spreadsheets read the cell as text."""
    return "'" + text if is_dangerous(text) else text


def rows(table: ReportTable, header: str = "name") -> list[list[object]]:
    """Header (column names, or labels for people) then each row as shown on the page."""
    columns = table.columns
    head: list[object] = [c.name if header == "name" else c.label for c in columns]
    body = [[table.shown(i, c.name) for c in columns] for i in range(table.frame.height)]
    return [head, *body]


def csv_text(table: ReportTable) -> str:
    buffer = io.StringIO()
    # RFC 4180 line ends: the writer then quotes any field holding a carriage return or line feed.
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows(table):
        writer.writerow(["" if v is None else inert(v) if isinstance(v, str) else _plain(v) for v in row])
    return buffer.getvalue()


def _plain(value: object) -> object:
    # Dates and the like as ISO text (never dangerous); numbers as they are.
    return value if isinstance(value, int | float) else str(value)


def workbook(tables: Sequence[ReportTable], notes: Sequence[tuple[str, str]] = ()) -> Workbook:
    """One sheet per table (labels as headers, the table's note under it), then an About sheet of notes."""
    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(table.key[:MAX_SHEET_TITLE])
        all_rows = rows(table, header="label")
        for r, row in enumerate(all_rows, start=1):
            for c, value in enumerate(row, start=1):
                _set(sheet.cell(r, c), value)
                if r == 1:
                    sheet.cell(r, c).font = Font(bold=True)
        if table.note:
            _set(sheet.cell(len(all_rows) + 2, 1), table.note)
        for c, column in enumerate(table.columns, start=1):
            sheet.column_dimensions[get_column_letter(c)].width = 28 if column.kind == "text" else 16
        sheet.freeze_panes = "A2"
    about = book.create_sheet("about")
    for r, (key, value) in enumerate(notes, start=1):
        _set(about.cell(r, 1), key)
        _set(about.cell(r, 2), value)
    about.column_dimensions["B"].width = 120
    return book


def _set(cell: Cell, value: object) -> None:
    if value is None:
        return
    if isinstance(value, int | float):
        cell.value = value
        return
    cell.value = str(value)
    # openpyxl turns any text starting with '=' into a formula: force a plain string, quote-prefixed.
    cell.data_type = "s"
    if is_dangerous(str(value)):
        cell.quotePrefix = True


def write_xlsx(tables: Sequence[ReportTable], path: Path, notes: Sequence[tuple[str, str]] = ()) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook(tables, notes).save(path)
    return path
