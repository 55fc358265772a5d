"""The hostile-input corpus: per dataset, a sound file and the hostile copies made of it, each with what the
pipeline must do with it.

A *base* is a file of one dataset that loads; a *family* turns its bytes into a hostile copy (a short row,
a NUL, UTF-16, a header repeated in another case...) and states the outcome: the status, and what must be
true of the quarantine, the message and the stored rows. Every case is run through the production path
(loading.file_load.ingest_path into a real warehouse) by tests/hostile/test_corpus.py.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sendflow.core.vocabulary import LoadStatus
from sendflow.intake.structure import CLEAN_TEXT_CHECK, FIELD_MAX_BYTES, ROW_WIDTH_CHECK
from tests.conftest import INVENTED_TRUST_FILE, SAMPLE_DIR
from tests.loading.test_file_load_membership import _gias_file


@dataclass(frozen=True)
class Base:
    """A sound file of one dataset and where its hostile copies are made hostile."""

    dataset: str
    name: str  # the copies' file name: it carries the year or date the dataset takes from names
    make: Callable[[Path], Path]  # writes (or finds) the sound file
    text_column: str  # a column the layout reads, holding text
    row: tuple[str, str]  # (column, value): the first data row with that value is the one made hostile


def _sample(name: str) -> Callable[[Path], Path]:
    return lambda _folder: SAMPLE_DIR / name


_LINK_ROWS = [
    {"URN": str(137181 + n), "LinkURN": str(100000 + n), "LinkName": f"Oak Academy {n}", "LinkType": "Successor",
     "LinkEstablishedDate": "01-09-2024"}
    for n in range(6)
]  # fmt: skip


def _links(folder: Path) -> Path:
    return _gias_file(folder / "links_edubasealldata20250115.csv", "gias_links.header.csv", _LINK_ROWS)


_GROUP_ROWS = [
    {"Group UID": str(16341 + n), "Group ID": f"TR0{1406 + n}", "Group Name": f"Beacon Academy Trust {n}",
     "Group Type": "Multi-academy trust", "Incorporated on (open date)": "04/07/2011", "Group Status": "Open"}
    for n in range(6)
]  # fmt: skip


def _groups(folder: Path) -> Path:
    return _gias_file(folder / "allgroupsdata20260217.csv", "gias_all_groups.header.csv", _GROUP_ROWS)


PUPIL_RETURN = "pupil_return"  # made by the corpus fixture (it needs the warehouse's schools), not by a Base

BASES: tuple[Base, ...] = (
    Base("school_register", "england_school_information_2023-24.csv",
         _sample("england_school_information_2023-24.csv"), "SCHNAME", ("URN", "100002")),
    Base("trust_membership", INVENTED_TRUST_FILE.name,
         lambda _folder: INVENTED_TRUST_FILE, "Group Name", ("", "")),
    Base("school_links", "links_edubasealldata20250115.csv", _links, "LinkName", ("URN", "137183")),
    Base("group_register", "allgroupsdata20260217.csv", _groups, "Group Name", ("Group UID", "16343")),
    Base("school_census", "england_census_2023-24.csv", _sample("england_census_2023-24.csv"), "SCHOOLTYPE",
         ("URN", "100002")),
    Base("la_ehcp", "ehcp_caseload_2025.csv", _sample("ehcp_caseload_2025.csv"), "la_name", ("la_name", "Camden")),
    Base("la_high_needs_spend", "s251_outturn_2023-24.csv", _sample("s251_outturn_2023-24.csv"), "la_name",
         ("la_name", "Camden")),
    Base("pupil_census", "pupil_return_2023-24_spring.csv", lambda folder: folder / PUPIL_RETURN, "Surname",
         ("", "")),
)  # fmt: skip

# Datasets with no CSV form, and why the CSV families do not apply to them.
NOT_CSV = {"dsg_allocation": "ESFA publishes the DSG as ODS workbooks only; the spreadsheet families cover it"}


@dataclass(frozen=True)
class Sound:
    """What the base file gave when loaded: the copies are judged against it."""

    rows_read: int
    rows_loaded: int
    rows_quarantined: int


@dataclass(frozen=True)
class Text:
    """A base file as lines of text, with where its hostile row is."""

    lines: list[str]
    newline: str
    bom: bool
    header: list[str]
    header_index: int
    row_index: int  # the index in `lines` of the row made hostile

    @property
    def row_line(self) -> int:
        return self.row_index + 1

    def cells(self, index: int) -> list[str]:
        return next(csv.reader([self.lines[index]]))

    def column(self, name: str) -> int:
        return self.header.index(name)

    def bytes(self, lines: list[str] | None = None, encoding: str = "utf-8") -> bytes:
        text = self.newline.join(self.lines if lines is None else lines) + self.newline
        data = text.encode(encoding)
        return codecs.BOM_UTF8 + data if self.bom and encoding == "utf-8" else data


def as_text(data: bytes, base: Base) -> Text:
    bom = data.startswith(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    newline = "\r\n" if "\r\n" in text[:4096] else "\n"
    lines = text.rstrip("\r\n").split(newline)
    header_index = next(i for i, line in enumerate(lines) if base.text_column in next(csv.reader([line]), []))
    header = next(csv.reader([lines[header_index]]))
    column, value = base.row
    if column:
        position = header.index(column)
        row_index = next(
            i for i in range(header_index + 1, len(lines)) if next(csv.reader([lines[i]]))[position] == value
        )
    else:
        row_index = header_index + 2  # the second data row
    return Text(lines, newline, bom, header, header_index, row_index)


def _line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(cells)
    return buffer.getvalue()


def _with_cell(text: Text, index: int, column: str, value: str) -> list[str]:
    cells = text.cells(index)
    cells[text.column(column)] = value
    lines = list(text.lines)
    lines[index] = _line(cells)
    return lines


@dataclass(frozen=True)
class Expected:
    status: LoadStatus
    quarantined_check: str | None = None  # the hostile row is held back with this check among its reasons
    extra_quarantined: int = 0  # rows held back beyond the base's own
    message_has: tuple[str, ...] = ()  # words the message must carry (the file, the line, the column...)
    same_rows_as_sound: bool = False  # rows read/loaded/quarantined exactly as the base
    on_line_of: tuple[int, ...] = ()  # the message names one of these lines


@dataclass(frozen=True)
class Family:
    name: str
    what: str  # for the README's table
    hostile: Callable[[Text, Base], bytes]
    expected: Callable[[Text, Base], Expected]


def _short(text: Text, base: Base) -> bytes:
    lines = list(text.lines)
    cells = text.cells(text.row_index)
    lines[text.row_index] = _line(cells[: max(1, len(cells) // 2)])
    return text.bytes(lines)


def _long(text: Text, base: Base) -> bytes:
    lines = list(text.lines)
    lines[text.row_index] += ",extra,9"
    return text.bytes(lines)


def _cell(value: str) -> Callable[[Text, Base], bytes]:
    return lambda text, base: text.bytes(_with_cell(text, text.row_index, base.text_column, value))


def _held(check: str) -> Callable[[Text, Base], Expected]:
    return lambda text, base: Expected(LoadStatus.LOADED, check, 1)


def _rejected(*words: str) -> Callable[[Text, Base], Expected]:
    return lambda text, base: Expected(LoadStatus.REJECTED, message_has=words)


def _giant(text: Text, base: Base) -> bytes:
    return text.bytes(_with_cell(text, text.row_index, base.text_column, "x" * (FIELD_MAX_BYTES + 1)))


def _utf16(bom: bool, codec: str) -> Callable[[Text, Base], bytes]:
    def hostile(text: Text, base: Base) -> bytes:
        data = text.bytes(encoding=codec)
        mark = codecs.BOM_UTF16_LE if codec == "utf-16-le" else codecs.BOM_UTF16_BE
        return mark + data if bom else data

    return hostile


def _mixed(first: str, then: str) -> Callable[[Text, Base], bytes]:
    """'Café' in the hostile row in one encoding, and in the row after it in the other."""

    def hostile(text: Text, base: Base) -> bytes:
        lines = _with_cell(text, text.row_index, base.text_column, "Caf\ufffe1")
        nxt = text.row_index + 1
        cells = next(csv.reader([lines[nxt]]))
        cells[text.column(base.text_column)] = "Caf\ufffe2"
        lines[nxt] = _line(cells)
        data = text.bytes(lines)
        return data.replace("Caf\ufffe1".encode(), "Café".encode(first)).replace(
            "Caf\ufffe2".encode(), "Café".encode(then)
        )

    return hostile


def _case_twin(text: Text, base: Base) -> bytes:
    """A second copy of a column the layout reads, its name in another case."""
    position = text.column(base.text_column)
    lines = list(text.lines)
    for index in range(text.header_index, len(lines)):
        cells = next(csv.reader([lines[index]]))
        if len(cells) > position:
            twin = base.text_column.swapcase() if index == text.header_index else cells[position]
            lines[index] = _line([*cells, twin])
    return text.bytes(lines)


def _cut_last_row(text: Text, base: Base) -> bytes:
    lines = list(text.lines)
    cells = next(csv.reader([lines[-1]]))
    lines[-1] = _line(cells[: len(cells) // 2])
    return (text.newline.join(lines)).encode("utf-8")  # no final line break: the file was cut off mid-row


def _open_quote(text: Text, base: Base) -> bytes:
    lines = list(text.lines)
    cells = text.cells(text.row_index)
    position = text.column(base.text_column)
    prefix = ",".join(_line([c]) for c in cells[:position])
    lines[text.row_index] = (prefix + "," if position else "") + '"never closed,' + ",".join(cells[position + 1 :])
    return text.bytes(lines)


def _blank_lines(text: Text, base: Base) -> bytes:
    lines = list(text.lines)
    lines[text.row_index + 1 : text.row_index + 1] = ["", "   "]
    return text.bytes(lines)


def _other_newline(text: Text, base: Base) -> bytes:
    other = Text(text.lines, "\n" if text.newline == "\r\n" else "\r\n", text.bom, text.header, text.header_index,
                 text.row_index)  # fmt: skip
    return other.bytes()


def _no_header(text: Text, base: Base) -> bytes:
    return text.bytes(text.lines[: text.header_index] + text.lines[text.header_index + 1 :])


def _mixed_refused(text: Text, base: Base) -> Expected:
    """Refused naming a line of the two (a file with a UTF-8 BOM is UTF-8 throughout: its first Windows-1252
    byte is the one refused, on its own line; without one, the second encoding met is the line refused)."""
    return Expected(LoadStatus.REJECTED, message_has=("UTF-8", "line "), on_line_of=(text.row_line, text.row_line + 1))


def _same(text: Text, base: Base) -> Expected:
    return Expected(LoadStatus.LOADED, same_rows_as_sound=True)


FAMILIES: tuple[Family, ...] = (
    Family("short_row_mid_file", "a row with half its fields, in the middle of the file", _short,
           _held(ROW_WIDTH_CHECK)),
    Family("long_row_mid_file", "a row with two fields more than the header", _long, _held(ROW_WIDTH_CHECK)),
    Family("nul_in_text", "a NUL byte inside a text cell", _cell("Oak\x00 School"), _held(CLEAN_TEXT_CHECK)),
    Family("escape_in_text", "a terminal escape sequence inside a text cell", _cell("Oak\x1b[31m School"),
           _held(CLEAN_TEXT_CHECK)),
    Family("giant_field", f"a text cell over the {FIELD_MAX_BYTES:,}-byte field limit", _giant,
           lambda text, base: Expected(LoadStatus.REJECTED, message_has=(f"row {text.row_line}", base.text_column,
                                                                         "limit"))),
    Family("field_over_python_csv_limit", "a 200 KiB text cell (Python's csv module stops at 128 KiB)",
           _cell("y" * 200 * 1024), lambda text, base: Expected(LoadStatus.LOADED)),
    Family("utf16_with_bom", "UTF-16 LE text with its byte-order mark", _utf16(True, "utf-16-le"),
           _rejected("UTF-16")),
    Family("utf16_le_without_bom", "UTF-16 LE text, no byte-order mark", _utf16(False, "utf-16-le"),
           _rejected("UTF-16")),
    Family("utf16_be_without_bom", "UTF-16 BE text, no byte-order mark", _utf16(False, "utf-16-be"),
           _rejected("UTF-16")),
    Family("cp1252_then_utf8", "a Windows-1252 accent, then a UTF-8 one on the next line", _mixed("cp1252", "utf-8"),
           _mixed_refused),
    Family("utf8_then_cp1252", "a UTF-8 accent, then a Windows-1252 one on the next line", _mixed("utf-8", "cp1252"),
           _mixed_refused),
    Family("header_twin_in_other_case", "a second copy of a column, its name in another case", _case_twin,
           lambda text, base: Expected(LoadStatus.REJECTED, message_has=(repr(base.text_column),
                                                                         repr(base.text_column.swapcase())))),
    Family("last_row_cut_off", "the last row cut in half, no final line break", _cut_last_row,
           _rejected("truncated")),
    Family("quote_never_closed", "a quote opened in a text cell and never closed", _open_quote,
           lambda text, base: Expected(LoadStatus.REJECTED, message_has=(base.name, "quote"))),
    Family("formula_like_text", "a spreadsheet formula as text (=HYPERLINK...)",
           _cell('=HYPERLINK("http://example.invalid","open")'), lambda text, base: Expected(LoadStatus.LOADED)),
    Family("blank_lines_mid_file", "two blank lines in the middle of the file", _blank_lines, _same),
    Family("other_line_endings", "the same rows with the other line ending (CRLF <-> LF)", _other_newline, _same),
    Family("header_row_missing", "the header row left out: the first row is data", _no_header,
           _rejected()),
    Family("bom_only", "a file holding nothing but a UTF-8 byte-order mark", lambda text, base: codecs.BOM_UTF8,
           _rejected("empty")),
)  # fmt: skip
