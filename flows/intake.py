"""Intake: what a file is (by its bytes and header, never its name), and reading it as text columns."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import polars as pl

from flows.ods import is_ods, read_ods
from transforms.common import SOURCE_ROW, Layout, academic_year_in_text, match_columns

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
# A layout is recognised when most of its required columns are there; the rest are then named as missing.
IDENTIFY_THRESHOLD = 0.6


class Rejection(Exception):
    """The file cannot be loaded as offered; the message says why and what to do."""


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

    @property
    def header(self) -> list[str]:
        return [c for c in self.frame.columns if c != SOURCE_ROW]


@dataclass(frozen=True)
class Identification:
    layout: Layout
    missing: tuple[str, ...]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


def _undecodable(data: bytes, error: UnicodeDecodeError, name: str, what: str) -> Rejection:
    line = data[: error.start].count(b"\n") + 1
    return Rejection(f"{name}: byte 0x{data[error.start]:02X} on line {line} is not {what}")


def decode(data: bytes, name: str) -> tuple[str, str]:
    """UTF-8 (with or without BOM), else Windows-1252 (GIAS exports). Anything else is refused, not guessed."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as error:
            error.start += len(codecs.BOM_UTF8)
            raise _undecodable(data, error, name, "UTF-8, although the file starts with a UTF-8 BOM") from error
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise Rejection(f"{name} is UTF-16 text; save it as CSV UTF-8 (or Windows-1252) and offer it again")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as error:
        utf8_error = error
    if _UTF8_MULTIBYTE.search(data[: utf8_error.start]):
        # Valid UTF-8 accents before the bad byte: a mixed file; reading it as cp1252 would garble them.
        raise _undecodable(data, utf8_error, name, "UTF-8, though earlier lines are (mixed encodings)")
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as error:
        raise _undecodable(data, error, name, "UTF-8 or Windows-1252") from error


Grid = list[list[str | None]]


def header_names(cells: Iterable[str | None], first_position: int = 1) -> list[str]:
    """Column names from a header row: blanks named by position, repeats numbered ('X', 'X [2]')."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for position, cell in enumerate(cells, start=first_position):
        name = (cell or "").replace("\ufeff", "").strip() or f"column_{position}"
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} [{seen[name]}]")
    return names


def header_row_index(rows: Grid, layouts: list[Layout]) -> tuple[int, float]:
    """The first of the leading rows that best matches a known layout (0 and score 0 if none does)."""
    best_index, best_score = 0, 0.0
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        match = _best_layout([c for c in row if c], layouts)
        if match is not None and match[0] > best_score:
            best_index, best_score = index, match[0]
    return best_index, best_score


def _preamble(rows: Grid) -> tuple[str, ...]:
    return tuple(cell.strip() for row in rows for cell in row if cell and cell.strip())


def _with_header(grid: pl.DataFrame, header_index: int, header: list[str]) -> pl.DataFrame:
    """Data rows below the header, named by it, numbered as the file numbers them (first row = 1)."""
    data = grid.slice(header_index + 1)
    data.columns = header
    return data.with_row_index(SOURCE_ROW, offset=header_index + 2).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


def read_csv_text(text: str, name: str, layouts: Iterable[Layout] = ()) -> pl.DataFrame:
    return _read_csv(text, name, list(layouts)).frame


def _read_csv(
    text: str, name: str, layouts: list[Layout], encoding: str | None = None, skip: int | None = None
) -> RawTable:
    leading = list(itertools.islice(csv.reader(io.StringIO(text)), HEADER_SEARCH_ROWS))
    index = skip if skip is not None else header_row_index(leading, layouts)[0] if layouts else 0
    try:
        grid = pl.read_csv(io.BytesIO(text.encode("utf-8")), has_header=False, skip_rows=index, infer_schema=False)
    except pl.exceptions.PolarsError as error:
        raise Rejection(f"{name} is not a readable CSV file: {str(error).splitlines()[0]}") from error
    if grid.height == 0:
        raise Rejection(f"{name} is empty")
    header = header_names(grid.row(0))
    _refuse_truncated_last_row(text, len(header), grid.height - 1, name)
    frame = _with_header(grid, 0, header).with_columns(pl.col(SOURCE_ROW) + index)
    return RawTable(frame, "csv", encoding, None, index + 1, _preamble(leading[:index]))


def _refuse_truncated_last_row(text: str, width: int, rows: int, name: str) -> None:
    """A file cut off mid-row would otherwise load its last row with blanks where the numbers were."""
    tail = text.rstrip("\r\n").rsplit("\n", 3)[-1]
    if rows == 0 or not tail or '"' in tail:
        return
    fields = next(csv.reader([tail]))
    if len(fields) < width:
        raise Rejection(
            f"{name}: row {rows + 1} has {len(fields)} of the header's {width} fields; the file looks truncated"
        )


def _is_spreadsheet(path: Path, head: bytes) -> bool:
    return path.suffix.lower() in SPREADSHEET_SUFFIXES or head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0"))


def read_table(path: Path, layouts: Iterable[Layout]) -> RawTable:
    """Read a CSV, or the spreadsheet sheet whose header best matches a known layout; all cells as text.

    The header is looked for in the first rows, not assumed to be the first: publishers put titles,
    notes and multi-row labels above it.
    """
    layouts = list(layouts)
    with path.open("rb") as handle:
        head = handle.read(8)
    if _is_spreadsheet(path, head):
        return _read_spreadsheet(path, layouts)
    if _is_xml(head):
        from flows.pupil_xml import read_pupil_xml

        return RawTable(read_pupil_xml(path), "xml", "utf-8")
    text, encoding = decode(path.read_bytes(), path.name)
    return _read_csv(text, path.name, layouts, encoding)


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
    if _is_spreadsheet(path, start[:8]) or _is_xml(start[:64]) or len(start) < HEAD_BYTES:
        return read_table(path, layouts)
    text = codecs.getincrementaldecoder("utf-8-sig")(errors="replace").decode(start)
    leading = list(itertools.islice(csv.reader(io.StringIO(text)), HEADER_SEARCH_ROWS + 1))
    index, _ = header_row_index(leading[:HEADER_SEARCH_ROWS], layouts)
    header = header_names(leading[index]) if len(leading) > index else []
    frame = pl.DataFrame(schema={SOURCE_ROW: pl.Int64, **dict.fromkeys(header, pl.String)})
    return RawTable(frame, "csv", None, None, index + 1, _preamble(leading[:index]), path, partial=True)


def batches(raw: RawTable, key: tuple[str, ...] = (), rows: int = 1_000_000) -> Iterator[pl.DataFrame]:
    """The table's rows, whole, or for a large CSV whose layout names a `key`, in pieces of about `rows`
    rows that never split a key's rows (a school's pupils stay together)."""
    if not raw.partial:
        yield raw.frame
        return
    assert raw.path is not None
    if not key:
        yield _whole_csv(raw)
        return
    yield from _aligned(_csv_pieces(raw, rows), [match_columns(raw.header, key)[k] for k in key], raw.path.name)


def _whole_csv(raw: RawTable) -> pl.DataFrame:
    assert raw.path is not None
    text, _ = decode(raw.path.read_bytes(), raw.path.name)
    return _read_csv(text, raw.path.name, [], None, skip=raw.header_row - 1).frame


def _csv_pieces(raw: RawTable, rows: int) -> Iterator[pl.DataFrame]:
    assert raw.path is not None
    source = _as_utf8(raw.path)
    _refuse_truncated_tail(source, len(raw.header), raw.path.name)
    scan = pl.scan_csv(
        source, has_header=False, skip_rows=raw.header_row, new_columns=raw.header, infer_schema=False,
        row_index_name=SOURCE_ROW, row_index_offset=raw.header_row + 1,
    )  # fmt: skip
    try:
        for piece in scan.collect_batches(chunk_size=rows):
            yield piece.with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))
    except pl.exceptions.PolarsError as error:
        raise Rejection(f"{raw.path.name} is not a readable CSV file: {str(error).splitlines()[0]}") from error
    finally:
        if source != raw.path:
            source.unlink(missing_ok=True)


def _aligned(pieces: Iterator[pl.DataFrame], key: list[str], name: str) -> Iterator[pl.DataFrame]:
    """Hold back each piece's last run of one key until the next piece, so no key straddles batches."""
    carried: pl.DataFrame | None = None
    finished: set[tuple] = set()

    def fresh(frame: pl.DataFrame) -> pl.DataFrame:
        keys = set(frame.select(key).unique().rows())
        if keys & finished:
            raise Rejection(
                f"{name}: the rows of {', '.join(key)} {sorted(keys & finished)[0]} are not together; "
                "sort the file by school and offer it again"
            )
        finished.update(keys)
        return frame

    for piece in pieces:
        frame = piece if carried is None else pl.concat([carried, piece])
        fingerprint = frame.select(pl.struct(key).hash()).to_series()
        run_starts = (fingerprint != fingerprint.shift(1)).fill_null(True).arg_true()
        last_run = int(run_starts[-1])
        ready, carried = frame.slice(0, last_run), frame.slice(last_run)
        if ready.height:
            yield fresh(ready)
    if carried is not None and carried.height:
        yield fresh(carried)


def _as_utf8(path: Path) -> Path:
    """The file itself when it is UTF-8; else a UTF-8 copy of its Windows-1252 text, decoded in blocks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        try:
            for block in iter(lambda: handle.read(1 << 22), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
            return path
        except UnicodeDecodeError:
            pass
    copy = path.with_name(f".{path.name}.utf8.tmp")
    with path.open("rb") as source, copy.open("w", encoding="utf-8", newline="") as target:
        for block in iter(lambda: source.read(1 << 22), b""):
            try:
                target.write(block.decode("cp1252"))
            except UnicodeDecodeError as error:
                copy.unlink(missing_ok=True)
                raise Rejection(f"{path.name} is neither UTF-8 nor Windows-1252") from error
    return copy


def _refuse_truncated_tail(path: Path, width: int, name: str) -> None:
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - 4096))
        tail = handle.read().decode("utf-8", errors="replace")
    lines = tail.rstrip("\r\n").rsplit("\n", 1)
    if len(lines) == 2 and '"' not in lines[1] and len(next(csv.reader([lines[1]]))) < width:
        raise Rejection(f"{name}: its last row has fewer fields than the header's {width}; the file looks truncated")


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


def _read_spreadsheet(path: Path, layouts: list[Layout]) -> RawTable:
    file_format = _spreadsheet_format(path)
    try:
        sheets = _sheets(path, file_format)
    except (zipfile.BadZipFile, ElementTree.ParseError, KeyError) as error:
        raise Rejection(f"{path.name} looks like a spreadsheet but cannot be read: {error}") from error
    sheets = {name: sheet for name, sheet in sheets.items() if sheet[0].height}
    if not sheets:
        raise Rejection(f"{path.name} has no sheet with any rows")
    scored = []
    for name, (grid, _, _) in sheets.items():
        leading = [list(row) for row in grid.head(HEADER_SEARCH_ROWS).iter_rows()]
        index, score = header_row_index(leading, layouts)
        scored.append((score, -len(scored), name, index, leading))
    _, _, sheet, index, leading = max(scored)
    grid, blank_rows, blank_columns = sheets[sheet]
    header = header_names(grid.row(index), first_position=blank_columns + 1)
    frame = _with_header(grid, index, header).with_columns(pl.col(SOURCE_ROW) + blank_rows)
    return RawTable(frame, file_format, None, sheet, blank_rows + index + 1, _preamble(leading[:index]))


def _best_layout(header: Iterable[str], layouts: Iterable[Layout]) -> tuple[float, Layout] | None:
    header = list(header)
    scored = [(len(match_columns(header, layout.required)) / len(layout.required), layout) for layout in layouts]
    scored = [s for s in scored if s[0] >= IDENTIFY_THRESHOLD]
    return max(scored, key=lambda s: s[0]) if scored else None


def identify(header: list[str], layouts: Iterable[Layout], name: str) -> Identification:
    """Which dataset and layout a header belongs to, or a Rejection listing what is known."""
    layouts = list(layouts)
    best = _best_layout(header, layouts)
    if best is None:
        known = sorted({f"{layout.dataset} ({layout.description})" for layout in layouts})
        shown = ", ".join(header[:8]) + (", ..." if len(header) > 8 else "")
        raise Rejection(f"{name}: unknown header [{shown}]; known datasets: " + "; ".join(known))
    layout = best[1]
    found = match_columns(header, layout.required)
    repeated = [c for c in found.values() if not layout.allow_repeated and f"{c} [2]" in header]
    if repeated:
        raise Rejection(f"{name}: column {', '.join(repeated)} appears more than once; which one to load is unclear")
    missing = tuple(c for c in layout.required if c not in found)
    return Identification(layout, missing)


def academic_year_for(path: Path, given: str | None) -> str | None:
    """--academic-year wins; else a year written in the file name, then in its folder names."""
    if given:
        return given
    for part in (path.name, *(p.name for p in path.parents)):
        year = academic_year_in_text(part)
        if year:
            return year
    return None


_DATE_IN_NAME = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)")


def snapshot_date_in_name(path: Path) -> date | None:
    """GIAS extracts are named by their date: edubasealldata20250422.csv."""
    match = _DATE_IN_NAME.search(path.name)
    if not match:
        return None
    try:
        return datetime.strptime("".join(match.groups()), "%Y%m%d").date()
    except ValueError:
        return None
