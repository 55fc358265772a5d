"""OpenDocument spreadsheets, read with the standard library as a stream of XML, within a `Budget`.

ESFA's DSG workbooks are ODS files without the 'mimetype' member the format asks for, which calamine
refuses; the cells themselves are ordinary OpenDocument XML (content.xml), read here as a stream of parser
events, so no tree of the markup is ever built. The rules:

- Sheets are the tables in document order. A table whose style says `table:display="false"` (a hidden sheet,
  in content.xml's automatic styles) is listed as not visible and its cells are not kept.
- Cells: a float, percentage or currency cell is its `office:value` as written; a date its
  `office:date-value`; a boolean its `office:boolean-value`; anything else the text of its paragraphs, one
  line each (`text:s` runs of spaces, tabs and line breaks as such, annotations left out; an empty text is no
  value). A cell LibreOffice marks as an error (`calcext:value-type="error"`) is its error text ('#DIV/0!'),
  so the parsing layer gives it an `invalid:` status, except '#N/A', read as an empty cell (see xlsx.py);
  before, such a cell's stored number (0) was read as its value. A formula with no value at all reads as
  '#NO-CACHED-VALUE! (formula in C5)'.
- Merged cells: a cell spanning `number-columns-spanned` x `number-rows-spanned` is a merged range; the
  `covered-table-cell`s under it read empty, whatever they hold (what LibreOffice shows). spreadsheets.py
  decides what a merged range may cover.
- Repeats: `number-columns-repeated` and `number-rows-repeated` expand only cells that hold something, and
  every cell they expand is counted against the cell limit before it is made (the 923-byte file whose
  repeats fill billions of cells is refused at the limit); runs of empty cells and rows, however long, only
  move the position on, so the padding sheets carry costs nothing. Before, each repeat was cut at 4,096
  silently.
"""

from __future__ import annotations

import zipfile

from sendflow.intake.limits import Budget, Sheet, cell_name
from sendflow.intake.raw import Rejection
from sendflow.intake.xlsx import NO_CACHED_VALUE, NOT_AVAILABLE, parse_xml, xml_parser

_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
_CALCEXT = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"
_TAGS = {
    f"{_TABLE} table": "table",
    f"{_TABLE} table-row": "row",
    f"{_TABLE} table-cell": "cell",
    f"{_TABLE} covered-table-cell": "covered",
    f"{_TEXT} p": "p",
    f"{_TEXT} s": "s",
    f"{_TEXT} tab": "tab",
    f"{_TEXT} line-break": "break",
    f"{_OFFICE} annotation": "annotation",
    f"{_STYLE} style": "style",
    f"{_STYLE} table-properties": "table-properties",
}
_MANIFEST_HEAD = 64 * 1024


def _attr(namespace: str, name: str) -> str:
    return f"{namespace} {name}"


_NAME, _STYLE_NAME = _attr(_TABLE, "name"), _attr(_TABLE, "style-name")
_ROWS_REPEATED, _COLUMNS_REPEATED = _attr(_TABLE, "number-rows-repeated"), _attr(_TABLE, "number-columns-repeated")
_ROWS_SPANNED, _COLUMNS_SPANNED = _attr(_TABLE, "number-rows-spanned"), _attr(_TABLE, "number-columns-spanned")
_VALUE_TYPE, _ERROR_TYPE = _attr(_OFFICE, "value-type"), _attr(_CALCEXT, "value-type")
_VALUE, _DATE_VALUE, _BOOLEAN_VALUE = (_attr(_OFFICE, a) for a in ("value", "date-value", "boolean-value"))
_FORMULA, _DISPLAY = _attr(_TABLE, "formula"), _attr(_TABLE, "display")
_SPACE_COUNT = _attr(_TEXT, "c")


def is_ods(archive: zipfile.ZipFile) -> bool:
    """An OpenDocument spreadsheet by its content: the 'mimetype' member, or (ESFA's files have none) the
    manifest naming the spreadsheet media type. Only the first bytes of either are read."""
    names = archive.NameToInfo
    member = "mimetype" if "mimetype" in names else "META-INF/manifest.xml"
    if member not in names or (member != "mimetype" and "content.xml" not in names):
        return False
    with archive.open(member) as opened:
        return b"opendocument.spreadsheet" in opened.read(_MANIFEST_HEAD)


def _is_encrypted(archive: zipfile.ZipFile) -> bool:
    """A password-protected ODS: its manifest carries encryption data for the parts it encrypts."""
    if "META-INF/manifest.xml" not in archive.NameToInfo:
        return False
    with archive.open("META-INF/manifest.xml") as opened:
        return b"encryption-data" in opened.read(_MANIFEST_HEAD)


class _ContentReader:
    """The parser's handlers for content.xml: one row's cells at a time, handed to their sheet at its end."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.sheets: list[Sheet] = []
        self.hidden_styles: set[str] = set()
        self.style: str | None = None  # the table style being read
        self.parser = xml_parser()
        self.parser.StartElementHandler, self.parser.EndElementHandler = self.start, self.end
        self.sheet: Sheet | None = None
        self.row = self.column = 0
        self.rows_repeated = 1
        self.cells: list[tuple[int, str | None]] = []
        self.cell: dict[str, str] | None = None  # the attributes of the cell being read
        self.covered = False
        self.paragraphs: list[str] = []
        self.parts: list[str] = []
        self.in_paragraph = False
        self.annotations = 0

    @property
    def what(self) -> str:
        return f"sheet {self.sheet.name!r}" if self.sheet else "its content"

    def count(self, attrs: dict[str, str], key: str) -> int:
        text = attrs.get(key, "1")
        if not (text.isascii() and text.isdigit() and int(text) >= 1):
            name = key.rsplit(" ", 1)[-1]
            raise Rejection(f"{self.budget.file_name}: {self.what} has {name}={text!r}, no count; the file is damaged")
        return int(text)

    def collect(self) -> None:
        """Characters are kept only inside a paragraph of a cell, outside annotations."""
        keep = self.in_paragraph and not self.annotations and not self.covered
        self.parser.CharacterDataHandler = self.parts.append if keep else None

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        local = _TAGS.get(tag)
        if local is None:
            return
        if local == "p" and self.cell is not None:
            self.in_paragraph, self.parts = True, []
            self.collect()
        elif local == "s" and self.in_paragraph:
            self.parts.append(" " * self.count(attrs, _SPACE_COUNT))
        elif local in ("tab", "break") and self.in_paragraph:
            self.parts.append("\t" if local == "tab" else "\n")
        elif local in ("cell", "covered") and self.sheet is not None:
            self.cell, self.covered, self.paragraphs = attrs, local == "covered", []
        elif local == "row" and self.sheet is not None:
            self.rows_repeated, self.column, self.cells = self.count(attrs, _ROWS_REPEATED), 0, []
        elif local == "annotation":
            self.annotations += 1
            self.collect()
        elif local == "table":
            name = attrs.get(_NAME, f"Sheet{len(self.sheets) + 1}")
            self.sheet = Sheet(name, visible=attrs.get(_STYLE_NAME, "") not in self.hidden_styles)
            self.sheets.append(self.sheet)
            self.row = 0
        elif local == "style":
            self.style = attrs.get(_attr(_STYLE, "name"))
        elif local == "table-properties" and self.style is not None and attrs.get(_DISPLAY) == "false":
            self.hidden_styles.add(self.style)

    def end(self, tag: str) -> None:
        local = _TAGS.get(tag)
        if local is None:
            return
        if local == "p" and self.in_paragraph:
            self.paragraphs.append("".join(self.parts))
            self.in_paragraph = False
            self.collect()
        elif local in ("cell", "covered") and self.cell is not None:
            self.end_cell(self.cell)
            self.cell = None
        elif local == "row" and self.sheet is not None:
            self.end_row(self.sheet)
        elif local == "annotation":
            self.annotations -= 1
            self.collect()
        elif local == "table":
            self.sheet = None
        elif local == "style":
            self.style = None

    def end_cell(self, attrs: dict[str, str]) -> None:
        columns = self.count(attrs, _COLUMNS_REPEATED)
        if self.sheet is not None and self.sheet.visible and not self.covered:
            self.spans(attrs, columns)
            value = self.value(attrs)
            if value is not None:
                # Counted before made: a repeat of millions is refused here, not after filling memory.
                self.budget.spend_cells(columns * self.rows_repeated, self.what)
                self.cells.extend((self.column + offset, value) for offset in range(columns))
        self.column += columns

    def value(self, attrs: dict[str, str]) -> str | None:
        text = "\n".join(self.paragraphs) or None
        if attrs.get(_ERROR_TYPE) == "error":
            return None if text == NOT_AVAILABLE else text
        kind = attrs.get(_VALUE_TYPE)
        if kind in ("float", "percentage", "currency"):
            return attrs.get(_VALUE)
        if kind == "date":
            return attrs.get(_DATE_VALUE)
        if kind == "boolean":
            return attrs.get(_BOOLEAN_VALUE)
        if text is None and kind is None and _FORMULA in attrs:
            return f"{NO_CACHED_VALUE} (formula in {cell_name(self.row, self.column)})"
        return text

    def spans(self, attrs: dict[str, str], columns: int) -> None:
        across, down = self.count(attrs, _COLUMNS_SPANNED), self.count(attrs, _ROWS_SPANNED)
        if across == down == 1 or self.sheet is None:
            return
        self.budget.spend_cells(columns * self.rows_repeated, self.what)
        for row in range(self.row, self.row + self.rows_repeated):
            for first in range(self.column, self.column + columns):
                self.sheet.merges.append((row, first, row + down - 1, first + across - 1))

    def end_row(self, sheet: Sheet) -> None:
        if self.cells:
            for offset in range(self.rows_repeated):  # the same immutable cells for each repeated row
                sheet.rows[self.row + offset] = self.cells
        self.row += self.rows_repeated
        self.cells = []


def read_ods(path_name: str, archive: zipfile.ZipFile, budget: Budget) -> list[Sheet]:
    """Every sheet in document order; hidden ones as names only (not visible, their cells not kept)."""
    if _is_encrypted(archive):
        raise Rejection(f"{path_name} is password-protected; save it without a password and offer it again")
    if "content.xml" not in archive.NameToInfo:
        raise Rejection(f"{path_name} is an OpenDocument file without content.xml; the file is damaged")
    reader = _ContentReader(budget)
    with budget.open(archive, "content.xml", "its content") as content:
        parse_xml(content.read, reader.parser, path_name, "its content")
    return reader.sheets
