"""XLSX and XLSM workbooks, read with the standard library as a stream of XML, within a `Budget`.

What is read, and how each cell becomes text (the rules calamine, which read these files before, applied,
so the real workbooks load exactly as they did, except where noted as a change):

- Sheets: the workbook's own list, in its order (xl/workbook.xml, its parts found through the relationships).
  A sheet whose `state` is "hidden" or "veryHidden" is listed as not visible and not read at all. Chart and
  dialog sheets hold no cells and are left out.
- Positions come from each cell's reference (`r="C5"`), or, where a writer leaves it out, from the cell's place
  in its row; the sheet's declared <dimension> is never read (it can be wrong, or claim A1:XFD1048576). A
  reference outside Excel's grid refuses the file.
- Numbers are written as calamine wrote them: up to nine decimal places, rounded, trailing zeros dropped
  ('0.30000000000000004' -> '0.3', '43127313.519999996' stays, '1e20' -> '100000000000000000000'), 'inf',
  '-inf' and 'NaN' as such. A `<v>` that is no number (Rust's float syntax: ASCII digits, no spaces) is kept as
  its text.
- A number whose style has a date or time format (built-in formats 14-22 and 45-47, or a custom format with
  date or time codes outside quotes, brackets and escapes, judged on its first section) is the date and time
  calamine gave: 'YYYY-MM-DD HH:MM:SS' with '.mmm' when there are milliseconds, counted from the workbook's
  epoch (1900, with Excel's phantom 29 February 1900; a 1904 workbook's serials are shifted onto it). A date
  beyond what can be written is kept as its number (calamine gave NULL, or panicked on some: a change).
- Shared and inline strings: the text of their runs, phonetic guides left out, `_xHHHH_` escapes undone.
  `t="str"` (a formula's text) and `t="d"` (an ISO date) are their text as written; booleans 'true'/'false'.
- Error cells (`t="e"`) keep their Excel text ('#DIV/0!', '#REF!', '#VALUE!'), so the parsing layer gives them
  an `invalid:` status naming the error (calamine gave NULL: a change). '#N/A' is the exception: it is
  Excel's "not available" (what NA() and a failed lookup return; the real s251 workbook has it where an LA did
  not exist that year) and reads as an empty cell, as it did before.
- A formula cell is its cached value. A formula with no cached value (a workbook saved by a program that does
  not calculate) reads as '#NO-CACHED-VALUE! (formula in C5)', never as an empty cell (calamine gave NULL:
  a change), so it too is `invalid:` naming the cell.
- Merged ranges (<mergeCell>) are handed on; spreadsheets.py decides what they may cover.
- Bounds: every part is streamed through the budget (expanded bytes and time); every cell, shared string and
  merged range is counted against the cell limit; a DTD (which could declare entities) refuses the file.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from xml.parsers import expat

from sendflow.intake.limits import MAX_COLUMNS, MAX_ROWS, Budget, CellRange, Sheet, cell_name, column_letters
from sendflow.intake.raw import Rejection

# Transitional (what Excel writes) and Strict OOXML spell their namespaces differently.
_MAIN = ("http://schemas.openxmlformats.org/spreadsheetml/2006/main", "http://purl.oclc.org/ooxml/spreadsheetml/main")
_RELATIONSHIP_ATTR = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
_PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_SEP = " "  # expat's separator between a namespace and a local name
_BLOCK = 64 * 1024

NOT_AVAILABLE = "#N/A"
NO_CACHED_VALUE = "#NO-CACHED-VALUE!"
_BUILTIN_DATE_FORMATS = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47})
# fast_float's syntax (what calamine accepted as a number): ASCII only, an optional sign, no spaces.
_NUMBER = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?i:inf|infinity|nan))")
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_MS_PER_DAY = 86_400_000
# chrono's NaiveDate range: a date outside it was no date for calamine either.
_MIN_YEAR, _MAX_YEAR = -262_144, 262_143


def _names(namespaces: tuple[str, ...], *locals_: str) -> dict[str, str]:
    return {f"{uri}{_SEP}{local}": local for uri in namespaces for local in locals_}


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text) if "_x" in text else text


def parse_xml(stream: Callable[[int], bytes], parser: expat.XMLParserType, name: str, what: str) -> None:
    """Feed a part to an expat parser block by block (each block counted by the stream it comes from)."""

    def refuse_dtd(*_: object) -> None:
        raise Rejection(f"{name}: {what} declares a DTD, which no workbook needs (it could expand entities)")

    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.buffer_text = True
    try:
        while block := stream(_BLOCK):
            parser.Parse(block, False)
        parser.Parse(b"", True)
    except expat.ExpatError as error:
        raise Rejection(f"{name}: {what} is not well-formed XML ({error}); the workbook is damaged") from error


def xml_parser() -> expat.XMLParserType:
    return expat.ParserCreate(namespace_separator=_SEP)


@dataclass
class _Relationship:
    kind: str  # the last part of its type: 'worksheet', 'sharedStrings', 'styles', 'officeDocument'...
    target: str  # a member name in the zip


def _relationships(archive: zipfile.ZipFile, part: str, budget: Budget) -> dict[str, _Relationship]:
    """A part's relationships by id, targets resolved to member names."""
    folder = PurePosixPath(part).parent
    rels_name = str(folder / "_rels" / f"{PurePosixPath(part).name}.rels")
    if rels_name not in archive.NameToInfo:
        return {}
    found: dict[str, _Relationship] = {}

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag == f"{_PACKAGE_RELS}{_SEP}Relationship" and attrs.get("TargetMode") != "External":
            target = attrs.get("Target", "")
            resolved = target.lstrip("/") if target.startswith("/") else str(folder / target)
            member = _normalised(resolved)
            found[attrs.get("Id", "")] = _Relationship(attrs.get("Type", "").rsplit("/", 1)[-1], member)
            budget.spend_cells(1, "its relationship part")  # each kept entry counts, as a cell would

    parser = xml_parser()
    parser.StartElementHandler = start
    with budget.open(archive, rels_name, "its relationship part") as stream:
        parse_xml(stream.read, parser, budget.file_name, "its relationship part")
    return found


def _normalised(member: str) -> str:
    parts: list[str] = []
    for part in member.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


@dataclass
class _Book:
    sheets: list[tuple[str, bool, str]] = field(default_factory=list)  # name, visible, relationship id
    date1904: bool = False


def _workbook(archive: zipfile.ZipFile, part: str, budget: Budget) -> _Book:
    book = _Book()
    sheet_tags = set(_names(_MAIN, "sheet"))
    properties = set(_names(_MAIN, "workbookPr"))
    id_keys = [f"{uri}{_SEP}id" for uri in _RELATIONSHIP_ATTR]

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag in sheet_tags:
            relationship = next((attrs[key] for key in id_keys if key in attrs), "")
            name = attrs.get("name", f"Sheet{len(book.sheets) + 1}")
            book.sheets.append((name, attrs.get("state", "visible") == "visible", relationship))
            budget.spend_cells(1, "its workbook part")
        elif tag in properties:
            book.date1904 = attrs.get("date1904", "false").lower() in ("1", "true")

    parser = xml_parser()
    parser.StartElementHandler = start
    with budget.open(archive, part, "its workbook part") as stream:
        parse_xml(stream.read, parser, budget.file_name, "its workbook part")
    return book


def _shared_strings(archive: zipfile.ZipFile, member: str, budget: Budget) -> list[str]:
    """The shared string table; each string counts as a cell (a table can hold no more strings than cells)."""
    strings: list[str] = []
    tags = _names(_MAIN, "si", "t", "rPh")
    parts: list[str] = []
    depth = {"phonetic": 0}
    parser = xml_parser()
    what = "its shared string table"

    def start(tag: str, attrs: dict[str, str]) -> None:
        local = tags.get(tag)
        if local == "t" and not depth["phonetic"]:
            parser.CharacterDataHandler = parts.append
        elif local == "rPh":
            depth["phonetic"] += 1
        elif local == "si":
            parts.clear()

    def end(tag: str) -> None:
        local = tags.get(tag)
        if local == "t":
            parser.CharacterDataHandler = None
        elif local == "rPh":
            depth["phonetic"] -= 1
        elif local == "si":
            strings.append(_unescape("".join(parts)))
            budget.spend_cells(1, what)

    parser.StartElementHandler, parser.EndElementHandler = start, end
    with budget.open(archive, member, what) as stream:
        parse_xml(stream.read, parser, budget.file_name, what)
    return strings


def _date_styles(archive: zipfile.ZipFile, member: str, budget: Budget) -> list[bool]:
    """For each cell style (cellXfs, in order): whether its number format shows a date or time."""
    custom: dict[int, str] = {}
    styles: list[int] = []
    tags = _names(_MAIN, "numFmt", "cellXfs", "xf")
    inside = {"cellXfs": False}

    def start(tag: str, attrs: dict[str, str]) -> None:
        local = tags.get(tag)
        if local == "numFmt":
            custom[_integer(attrs.get("numFmtId"))] = attrs.get("formatCode", "")
            budget.spend_cells(1, "its style part")
        elif local == "cellXfs":
            inside["cellXfs"] = True
        elif local == "xf" and inside["cellXfs"]:
            styles.append(_integer(attrs.get("numFmtId")))
            budget.spend_cells(1, "its style part")

    def end(tag: str) -> None:
        if tags.get(tag) == "cellXfs":
            inside["cellXfs"] = False

    parser = xml_parser()
    parser.StartElementHandler, parser.EndElementHandler = start, end
    with budget.open(archive, member, "its style part") as stream:
        parse_xml(stream.read, parser, budget.file_name, "its style part")
    return [is_date_format(custom[id_]) if id_ in custom else id_ in _BUILTIN_DATE_FORMATS for id_ in styles]


def _integer(text: str | None) -> int:
    """An attribute that should be a whole number; anything else counts as 0 (as calamine read it)."""
    return int(text) if text and text.isascii() and text.isdigit() else 0


def is_date_format(code: str) -> bool:
    """Whether a custom number format shows a date or time: a d, m, h, y or s (or AM/PM) outside quotes,
    brackets and escapes in its first section, or an elapsed-time code such as [h]. calamine's test."""
    escaped = quoted = ap = hms = False
    brackets = 0
    previous = " "
    for char in code:
        if escaped:
            escaped = False
        elif char in "_\\":
            escaped = True
        elif quoted:
            quoted = char != '"'
        elif char == '"':
            quoted = True
        elif char == ";":
            return False
        elif char == "[":
            brackets += 1
        elif char == "]" and brackets == 1 and hms:
            return True
        elif char == "]":
            brackets = max(brackets - 1, 0)
        elif char in "aA" and not ap and not brackets:
            ap = True
        elif not brackets and (char in "pm/PM" if ap else char in "dmhysDMHYS"):
            return True
        elif not (hms and char.lower() == previous.lower()):
            hms = previous == "[" and char in "mhsMHS"
        previous = char
    return False


def number_text(value: float) -> str:
    """A number as calamine wrote it: nine decimal places at most, trailing zeros dropped."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.9f}".rstrip("0").rstrip(".")


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (any year)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    days += 719468
    era = days // 146097
    day_of_era = days - era * 146097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_index = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * month_index + 2) // 5 + 1
    month = month_index + (3 if month_index < 10 else -9)
    return year_of_era + era * 400 + (month <= 2), month, day


_EPOCH_1900_EARLY = _days_from_civil(1899, 12, 31)  # serials below 60: before Excel's phantom 29 February 1900
_EPOCH_1900 = _days_from_civil(1899, 12, 30)
_DAYS_1900_TO_1904 = 1462  # serial 0 of the 1904 date system is serial 1462 of the 1900 one


def _round_half_away(value: float) -> int:
    floor = math.floor(value)
    fraction = value - floor
    return floor + 1 if fraction > 0.5 or (fraction == 0.5 and value > 0) else floor


def datetime_text(serial: float, date1904: bool) -> str | None:
    """An Excel date serial as calamine wrote it ('2023-09-01 00:00:00', '... 02:57:46.667'); None when no
    date can be written for it (then the number is kept)."""
    if date1904:  # as calamine does: made a 1900 serial, phantom leap day and all
        serial += _DAYS_1900_TO_1904
    scaled = 0.0 if math.isnan(serial) else serial * _MS_PER_DAY
    if not abs(scaled) < 2.0**63:  # infinite, or more milliseconds than calamine could count
        return None
    milliseconds = _round_half_away(scaled)
    epoch = _EPOCH_1900_EARLY if serial < 60 else _EPOCH_1900
    days, rest = divmod(milliseconds, _MS_PER_DAY)
    year, month, day = _civil_from_days(epoch + days)
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    year_text = f"{year:04d}" if 0 <= year <= 9999 else f"{year:+05d}"
    fraction = f".{millis:03d}" if millis else ""
    return f"{year_text}-{month:02d}-{day:02d} {hours:02d}:{minutes:02d}:{seconds:02d}{fraction}"


_DIGITS = "0123456789"
_COLUMN_INDEX = {column_letters(column): column for column in range(MAX_COLUMNS)}


def _position(reference: str, name: str, sheet: str) -> tuple[int, int]:
    """'C5' -> (4, 2); a reference outside Excel's grid (or no reference at all) refuses the file."""
    letters = reference.rstrip(_DIGITS)
    digits = reference[len(letters) :]
    column = _COLUMN_INDEX.get(letters)
    if column is None:
        column = _COLUMN_INDEX.get(letters.upper())
    if column is None or not digits or len(digits) > 7 or not 0 < int(digits) <= MAX_ROWS:
        raise Rejection(f"{name}: sheet {sheet!r} has a cell at {reference!r}, outside Excel's grid (A1:XFD1048576)")
    return int(digits) - 1, column


@dataclass(frozen=True)
class _Context:
    """What every cell of a workbook is read with."""

    name: str  # the file's
    strings: list[str]
    date_styles: frozenset[str]  # the `s` attributes whose number format shows a date or time
    date1904: bool


def _cell_text(context: _Context, sheet: str, kind: str | None, style: str | None, value: str | None,
               inline: str | None, formula: bool, row: int, column: int) -> str | None:  # fmt: skip
    """A cell's text (None: there but empty, an #N/A), by the rules in the module docstring."""
    if kind in ("inlineStr", "is"):
        value, kind = inline, "inline"
    if value is None or (value == "" and kind not in ("str", "d", "inline")):
        return f"{NO_CACHED_VALUE} (formula in {cell_name(row, column)})" if formula else None
    if kind == "s":
        index = int(value) if value.isascii() and value.isdigit() else -1
        if not 0 <= index < len(context.strings):
            raise Rejection(
                f"{context.name}: cell {cell_name(row, column)} of sheet {sheet!r} refers to shared string "
                f"{value!r}, which the workbook does not have (it has {len(context.strings):,}); the file is damaged"
            )
        return context.strings[index]
    if kind == "b":
        return "true" if value != "0" else "false"
    if kind == "e":
        return None if value == NOT_AVAILABLE else value
    if kind == "inline":
        return _unescape(value)
    if kind not in (None, "n") or not _NUMBER.fullmatch(value):
        return value
    number = float(value)
    if style in context.date_styles:
        written = datetime_text(number, context.date1904)
        if written is not None:
            return written
    return number_text(number)


def _read_sheet(stream: Callable[[int], bytes], sheet: Sheet, context: _Context, budget: Budget) -> None:
    """One worksheet part's cells, by row, and its merged ranges, into `sheet`. The handlers run for every
    element of sheets with millions of cells, so they keep their state in local variables and the commonest
    cells (a shared string, a whole number) take the shortest way."""
    what, strings, date_styles = f"sheet {sheet.name!r}", context.strings, context.date_styles
    tags = _names(_MAIN, "row", "c", "v", "f", "is", "t", "rPh", "mergeCell")
    get_tag, column_index_of, rows = tags.get, _COLUMN_INDEX.get, sheet.rows
    parser = xml_parser()
    parts: list[str] = []
    cells: list[tuple[int, str | None]] = []  # of one row, `pending_row`, not yet handed to the sheet
    row_index = column_index = pending_row = phonetic = 0
    attrs_of_cell: dict[str, str] = {}
    value: str | None = None  # the cell's <v> text, None if it has none
    inline: str | None = None  # its inline string, None if it has no <is>
    formula = False

    def flush() -> None:
        nonlocal cells
        if cells:
            budget.spend_cells(len(cells), what)
            rows.setdefault(pending_row, []).extend(cells)
            cells = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal attrs_of_cell, value, inline, formula, parts, phonetic, row_index, column_index
        local = get_tag(tag)
        if local == "c":
            attrs_of_cell, value, inline, formula = attrs, None, None, False
        elif local == "v" or (local == "t" and inline is not None and not phonetic):
            parts = []
            parser.CharacterDataHandler = parts.append
        elif local == "row":
            reference = attrs.get("r")
            if reference is not None:
                if not (reference.isascii() and reference.isdigit() and 0 < int(reference) <= MAX_ROWS):
                    raise Rejection(f"{budget.file_name}: {what} has a row numbered {reference!r}")
                row_index = int(reference) - 1
            column_index = 0
        elif local == "f":
            formula = True
        elif local == "is":
            inline = ""
        elif local == "rPh":
            phonetic += 1
        elif local == "mergeCell":
            _merge(sheet, attrs.get("ref", ""), budget)

    def end(tag: str) -> None:
        nonlocal value, inline, phonetic, row_index, column_index, pending_row
        local = get_tag(tag)
        if local == "v":
            parser.CharacterDataHandler = None
            value = "".join(parts)
        elif local == "c":
            row = row_index
            reference = attrs_of_cell.get("r")
            if reference is not None:  # its own reference places it (and the cells after it in its row)
                letters = reference.rstrip(_DIGITS)
                column = column_index_of(letters)
                digits = reference[len(letters) :]
                if column is not None and 0 < len(digits) < 8 and 0 < int(digits) <= MAX_ROWS:
                    row, column_index = int(digits) - 1, column
                else:  # lower-case letters, or no place in Excel's grid: the careful way refuses the latter
                    row, column_index = _position(reference, budget.file_name, sheet.name)
            kind = attrs_of_cell.get("t")
            text: str | None
            if value and value.isascii() and value.isdigit() and (kind == "s" or kind is None):
                if kind == "s" and int(value) < len(strings):
                    text = strings[int(value)]
                elif kind is None and len(value) < 16 and value[0] != "0" and not date_styles:
                    text = value  # a whole number, already as calamine wrote it
                else:
                    text = _cell_text(context, sheet.name, kind, attrs_of_cell.get("s"), value, inline, formula, row,
                                      column_index)  # fmt: skip
            elif value is None and inline is None and not formula:
                column_index += 1
                return  # a cell with only a style: nothing there
            else:
                text = _cell_text(context, sheet.name, kind, attrs_of_cell.get("s"), value, inline, formula, row,
                                  column_index)  # fmt: skip
            if row != pending_row:
                flush()
                pending_row = row
            cells.append((column_index, text))
            column_index += 1
        elif local == "row":
            flush()
            row_index += 1
            column_index = 0
        elif local == "t" and parser.CharacterDataHandler is not None:
            parser.CharacterDataHandler = None
            inline = (inline or "") + "".join(parts)
        elif local == "rPh":
            phonetic -= 1

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parse_xml(stream, parser, budget.file_name, what)
    flush()


def _merge(sheet: Sheet, reference: str, budget: Budget) -> None:
    first, _, last = reference.partition(":")
    top, left = _position(first, budget.file_name, sheet.name)
    bottom, right = _position(last, budget.file_name, sheet.name) if last else (top, left)
    cells: CellRange = (min(top, bottom), min(left, right), max(top, bottom), max(left, right))
    budget.spend_cells(1, f"sheet {sheet.name!r}")
    if cells[:2] != cells[2:]:
        sheet.merges.append(cells)


def _document_part(archive: zipfile.ZipFile, budget: Budget) -> str:
    """The workbook part the package's own relationships name (xl/workbook.xml by convention)."""
    for relationship in _relationships(archive, "", budget).values():
        if relationship.kind == "officeDocument":
            return relationship.target
    return "xl/workbook.xml"


def read_xlsx(path_name: str, archive: zipfile.ZipFile, budget: Budget) -> list[Sheet]:
    """Every sheet in workbook order; hidden ones as names only (not visible, never read)."""
    part = _document_part(archive, budget)
    if part.endswith(".bin"):
        raise Rejection(f"{path_name} is an Excel binary workbook (.xlsb); save it as .xlsx and offer it again")
    if part not in archive.NameToInfo:
        raise Rejection(
            f"{path_name} is a zip archive but not an Excel or OpenDocument workbook (it has no {part}); "
            "offer the files inside it, or the landing zone will unpack it"
        )
    relationships = _relationships(archive, part, budget)
    book = _workbook(archive, part, budget)
    by_kind = {r.kind: r.target for r in relationships.values() if r.target in archive.NameToInfo}
    strings = _shared_strings(archive, by_kind["sharedStrings"], budget) if "sharedStrings" in by_kind else []
    dates = _date_styles(archive, by_kind["styles"], budget) if "styles" in by_kind else []
    context = _Context(
        path_name, strings, frozenset(str(i) for i, is_date in enumerate(dates) if is_date), book.date1904
    )
    sheets: list[Sheet] = []
    for name, visible, relationship_id in book.sheets:
        relationship = relationships.get(relationship_id)
        if relationship is None or relationship.kind != "worksheet":
            continue  # a chart or dialog sheet: no cells
        sheet = Sheet(name, visible)
        sheets.append(sheet)
        if not visible:
            continue
        if relationship.target not in archive.NameToInfo:
            raise Rejection(f"{path_name}: sheet {name!r} is listed but its part {relationship.target} is missing")
        with budget.open(archive, relationship.target, f"sheet {name!r}") as stream:
            _read_sheet(stream.read, sheet, context, budget)
    return sheets
