"""Intake: what a file is (by its bytes and header, never its name), and reading it as text columns."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import polars as pl

from transforms.common import SOURCE_ROW, Layout, academic_year_in_text, match_columns

SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
# A layout is recognised when most of its required columns are there; the rest are then named as missing.
IDENTIFY_THRESHOLD = 0.6


class Rejection(Exception):
    """The file cannot be loaded as offered; the message says why and what to do."""


@dataclass(frozen=True)
class RawTable:
    frame: pl.DataFrame  # every column as text, plus source_row_number (header = row 1)
    file_format: str  # "csv" or "xlsx"/"ods"/...
    encoding: str | None
    sheet: str | None = None

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


def _numbered(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_row_index(SOURCE_ROW, offset=2).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


def read_csv_text(text: str, name: str) -> pl.DataFrame:
    try:
        frame = pl.read_csv(io.BytesIO(text.encode("utf-8")), infer_schema=False)
    except pl.exceptions.PolarsError as error:
        raise Rejection(f"{name} is not a readable CSV file: {str(error).splitlines()[0]}") from error
    names = [c.replace("\ufeff", "").strip() for c in frame.columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise Rejection(f"{name} has more than one column named {', '.join(repeated)}")
    _refuse_truncated_last_row(text, len(names), frame.height, name)
    return _numbered(frame.rename(dict(zip(frame.columns, names, strict=True))))


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
    """Read a CSV or the first spreadsheet sheet whose header matches a known layout, all cells as text."""
    with path.open("rb") as handle:
        head = handle.read(8)
    if _is_spreadsheet(path, head):
        return _read_spreadsheet(path, list(layouts))
    text, encoding = decode(path.read_bytes(), path.name)
    return RawTable(read_csv_text(text, path.name), "csv", encoding)


def _spreadsheet_format(path: Path) -> str:
    """By content: ODS and XLSX are both zip files; ODS names its type in a 'mimetype' member."""
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    try:
        with zipfile.ZipFile(path) as archive:
            if b"opendocument.spreadsheet" in archive.read("mimetype"):
                return "ods"
    except (KeyError, zipfile.BadZipFile):
        pass
    return "xlsx"


def _sheet_header(path: Path, sheet: str) -> list[str]:
    try:
        return pl.read_excel(path, sheet_name=sheet, infer_schema_length=0, read_options={"n_rows": 0}).columns
    except Exception:  # an empty or chart-only sheet has no header to offer
        return []


def _read_spreadsheet(path: Path, layouts: list[Layout]) -> RawTable:
    import fastexcel

    try:
        sheets = fastexcel.read_excel(path).sheet_names
    except Exception as error:
        raise Rejection(f"{path.name} looks like a spreadsheet but cannot be opened: {error}") from error
    matching = [sheet for sheet in sheets if _best_layout(_sheet_header(path, sheet), layouts) is not None]
    readable = matching or [sheet for sheet in sheets if _sheet_header(path, sheet)]
    if not readable:
        raise Rejection(f"{path.name} has no sheet with a header row")
    chosen = readable[0]
    frame = pl.read_excel(path, sheet_name=chosen, infer_schema_length=0)
    frame = frame.rename({c: str(c).strip() for c in frame.columns})
    return RawTable(_numbered(frame), _spreadsheet_format(path), None, chosen)


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
