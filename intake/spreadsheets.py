"""XLSX, XLSM, XLS and ODS workbooks: the visible sheet whose header best matches a known layout, as text.

What a workbook is goes by its bytes, never its name: a zip (XLSX, XLSM or ODS, told apart by their parts) or
an OLE compound file (an old binary XLS; or an encrypted OOXML workbook, refused as password-protected). A
CSV saved under a '.xlsx' name is therefore read as the CSV it is. XLSX and ODS are read by this package's own
streaming readers (xlsx.py, ods.py: how each cell becomes text is stated there); XLS by calamine in a child
process (`_read_xls`). Every read is bounded (limits.py); past a bound, or when a reader fails, the file is
refused with the reason, and the run goes on.

Which sheet:
- Only visible sheets are candidates: a hidden or very hidden sheet is never read (it is where workbooks keep
  look-up tables, old copies and workings).
- Each visible sheet's leading rows are scored against every layout (intake/header.py); the best wins, the
  first in workbook order among equals (and the first sheet with rows when none matches, for the "unknown
  header" refusal to name).
- Two or more visible sheets whose headers identify the same dataset are refused as ambiguous, naming them:
  which one is meant cannot be told, and loading one would silently leave the other out. (No real workbook
  has two: each ESFA DSG workbook's one matching sheet is Allocations_summary.)
- When no visible sheet matches and some are hidden, the refusal says the hidden ones were not looked at.

The chosen sheet's grid runs from its first to its last filled row and column (no more is allocated), and
its row numbers and column positions are the sheet's own (a header in row 4 of column B makes row 5 the
first data row, and an unnamed column is named by its own letter's position).

Merged ranges, one rule for XLSX and ODS: a range keeps its value in its first cell, and its other cells read
empty, as the spreadsheet shows them. A range lying wholly in or above the header row (titles, labels over
groups of columns) is therefore harmless, and so is one below it that is the only thing filled in its rows
(a note spanning the table) or whose first cell is empty (it hides nothing). Any other range below the header
row covers data cells and the file is refused naming the range: the rows it spans would read its value as
empty. The real workbooks' merges are all titles above or in their header rows.
"""

from __future__ import annotations

import json
import resource
import struct
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sendflow.intake.header import _best_layout, header_names, header_row_index
from sendflow.intake.limits import Budget, Sheet, SheetLimits, check_zip, range_name
from sendflow.intake.ods import is_ods, read_ods
from sendflow.intake.raw import (
    HEADER_SEARCH_ROWS,
    RawTable,
    Rejection,
    preamble,
    with_header,
)
from sendflow.intake.xlsx import read_xlsx
from sendflow.transforms.common import (
    SOURCE_ROW,
    Layout,
)

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip, or an empty one
_COMPOUND_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_STREAMS = {"EncryptionInfo", "EncryptedPackage"}
_XLS_STREAMS = {"Workbook", "Book"}
_CHILD_MESSAGE_CHARS = 200
_WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")


def is_spreadsheet(path: Path, head: bytes) -> bool:
    """A workbook by its first bytes (a zip or a compound file), whatever its name says. A file named as a
    workbook whose bytes are none (text, most often a CSV saved under a workbook's name) is refused rather
    than read as what it holds: its name is all that says what it is, and that is wrong, so the sender is
    asked to check the file (a workbook named '.csv' has bytes that say so, and is read as the workbook)."""
    if head.startswith(_ZIP_MAGIC) or head.startswith(_COMPOUND_MAGIC[:4]):
        return True
    if path.suffix.lower() in _WORKBOOK_SUFFIXES:
        raise Rejection(
            f"{path.name} is named as a workbook ({path.suffix}) but holds none: its bytes are text (a CSV saved "
            f"under a workbook's name?); rename it .csv if it is one, or save it from the spreadsheet program "
            f"as {path.suffix}, and offer it again"
        )
    return False


@dataclass(frozen=True)
class _Candidate:
    sheet: Sheet
    order: int
    first_row: int
    first_column: int
    leading: list[list[str | None]]  # the filled cells of the first rows
    index: int  # the header's row among `leading`
    score: float
    layout: Layout | None


def read_spreadsheet(path: Path, layouts: list[Layout], limits: SheetLimits) -> RawTable:
    """The chosen sheet (module docstring) as text columns under its header, read within `limits`."""
    budget = Budget(path.name, limits)
    file_format, sheets = _read_sheets(path, budget)
    visible = (sheet for sheet in sheets if sheet.visible)
    candidates = [c for order, sheet in enumerate(visible) if (c := _candidate(sheet, order, layouts)) is not None]
    hidden = [sheet.name for sheet in sheets if not sheet.visible]
    if not candidates:
        shown = f" (hidden sheets are never loaded: {_names(hidden)})" if hidden else ""
        raise Rejection(f"{path.name} has no visible sheet with any rows{shown}")
    best = max(candidates, key=lambda c: (c.score, -c.order))
    if best.layout is None and hidden:
        raise Rejection(
            f"{path.name}: no visible sheet has the header of a known layout (looked in "
            f"{_names([c.sheet.name for c in candidates])}); hidden sheets are never loaded "
            f"({_names(hidden)}): unhide the one to load, and hide the others"
        )
    _refuse_ambiguous(path.name, best, candidates)
    header_row = best.first_row + best.index  # 0-based, in the sheet
    _check_merges(path.name, best.sheet, header_row)
    grid = _grid(path.name, best.sheet, budget)
    header = header_names(grid.row(best.index), first_position=best.first_column + 1)
    frame = with_header(grid, best.index, header).with_columns(pl.col(SOURCE_ROW) + best.first_row)
    return RawTable(frame, file_format, None, best.sheet.name, header_row + 1, preamble(best.leading[: best.index]))


def _names(names: list[str]) -> str:
    quoted = [repr(name) for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _candidate(sheet: Sheet, order: int, layouts: list[Layout]) -> _Candidate | None:
    extent = sheet.extent()
    if extent is None:
        return None
    first_row, first_column, last_row, _ = extent
    leading = _leading_rows(sheet, first_row, min(last_row, first_row + HEADER_SEARCH_ROWS - 1))
    index, score = header_row_index(leading, layouts)
    match = _best_layout([c for c in leading[index] if c], layouts) if score > 0 else None
    return _Candidate(sheet, order, first_row, first_column, leading, index, score, match[1] if match else None)


def _leading_rows(sheet: Sheet, top: int, bottom: int) -> list[list[str | None]]:
    """Rows top..bottom as their filled cells' values in column order (all the header search and the preamble
    look at), cells under a merged range (not its first) left out: never as wide as a stray far cell makes
    the sheet. A cell given twice counts once, as its last value (as in the grid)."""
    covered = set(_covered_cells(sheet, top, bottom))
    leading: list[list[str | None]] = []
    for row in range(top, bottom + 1):
        cells = dict(sheet.rows.get(row, ()))
        leading.append([cells[c] for c in sorted(cells) if cells[c] is not None and (row, c) not in covered])
    return leading


def _rows_between(sheet: Sheet, top: int, bottom: int) -> list[int]:
    """The rows from top to bottom that hold cells (a range can span a million rows; a sheet has fewer)."""
    if bottom - top + 1 <= len(sheet.rows):
        return [row for row in range(top, bottom + 1) if row in sheet.rows]
    return sorted(row for row in sheet.rows if top <= row <= bottom)


def _covered_cells(sheet: Sheet, top: int, bottom: int) -> list[tuple[int, int]]:
    """The filled cells within rows top..bottom that a merged range covers (all but the range's first cell):
    found among the cells there are, never by walking the range."""
    covered = []
    for first_row, first_column, last_row, last_column in sheet.merges:
        for row in _rows_between(sheet, max(first_row, top), min(last_row, bottom)):
            covered += [
                (row, column) for column, _ in sheet.rows[row]
                if first_column <= column <= last_column and (row, column) != (first_row, first_column)
            ]  # fmt: skip
    return covered


def _refuse_ambiguous(name: str, best: _Candidate, candidates: list[_Candidate]) -> None:
    if best.layout is None:
        return
    dataset = best.layout.dataset
    same = [c for c in candidates if c.layout is not None and c.layout.dataset == dataset]
    if len(same) > 1:
        hold = "both hold" if len(same) == 2 else "all hold"
        raise Rejection(
            f"{name}: sheets {_names([c.sheet.name for c in same])} {hold} {dataset} "
            f"({best.layout.description}); which one to load is unclear: delete or hide all but one, or offer "
            "each as a file of its own"
        )


def _filled(sheet: Sheet, row: int, outside: tuple[int, int]) -> bool:
    """Whether the row holds a value outside the columns first..last."""
    first, last = outside
    return any(value is not None and not first <= column <= last for column, value in sheet.rows.get(row, ()))


def _value_at(sheet: Sheet, row: int, column: int) -> str | None:
    return next((value for at, value in reversed(sheet.rows.get(row, ())) if at == column), None)


def _check_merges(name: str, sheet: Sheet, header_row: int) -> None:
    """The merged-range rule (module docstring): refused when a range below the header row covers data cells."""
    for merge in sheet.merges:
        first_row, first_column, last_row, last_column = merge
        if last_row <= header_row or _value_at(sheet, first_row, first_column) is None:
            continue
        rows = _rows_between(sheet, max(first_row, header_row + 1), last_row)
        if any(_filled(sheet, row, (first_column, last_column)) for row in rows):
            raise Rejection(
                f"{name}: sheet {sheet.name!r} has merged cells {range_name(merge)} among its data (below the "
                f"header in row {header_row + 1}): a merged range keeps its value in its first cell only, so the "
                "rows it spans would read it as empty; unmerge the cells and fill each one, then offer the file "
                "again"
            )


def _grid(name: str, sheet: Sheet, budget: Budget) -> pl.DataFrame:
    """The sheet's cells from its first to its last filled row and column, as text columns column_1...; the
    grid is bounded by the cell limit before it is allocated."""
    extent = sheet.extent()
    assert extent is not None  # a candidate has cells
    first_row, first_column, last_row, last_column = extent
    height, width = last_row - first_row + 1, last_column - first_column + 1
    if height * width > budget.limits.max_cells:
        raise Rejection(
            f"{name}: sheet {sheet.name!r} spans {range_name(extent)} ({height:,} rows by {width:,} columns), "
            f"past the limit of {budget.limits.max_cells:,} cells (SENDFLOW_SHEET_MAX_CELLS); is something typed "
            "far from the table?"
        )
    columns: list[list[str | None]] = [[None] * height for _ in range(width)]
    for row, cells in sheet.rows.items():
        for column, value in cells:
            columns[column - first_column][row - first_row] = value
    for row, column in _covered_cells(sheet, first_row, last_row):  # what the spreadsheet shows: empty
        columns[column - first_column][row - first_row] = None
    budget.check_clock(f"sheet {sheet.name!r}")
    return pl.DataFrame(
        {f"column_{i + 1}": values for i, values in enumerate(columns)},
        schema={f"column_{i + 1}": pl.String for i in range(width)},
    )


def _read_sheets(path: Path, budget: Budget) -> tuple[str, list[Sheet]]:
    with path.open("rb") as handle:
        head = handle.read(len(_COMPOUND_MAGIC))
    if head.startswith(_COMPOUND_MAGIC[:4]):
        return "xls", _read_compound(path, budget)
    limits = budget.limits
    check_zip(path, limits.zip_max_members, limits.zip_max_declared_bytes)
    try:
        with zipfile.ZipFile(path) as archive:
            if is_ods(archive):
                return "ods", read_ods(path.name, archive, budget)
            return "xlsx", read_xlsx(path.name, archive, budget)
    except RuntimeError as error:  # zipfile's refusal of a member encrypted with a password
        raise Rejection(f"{path.name} is password-protected; save it without a password and offer it again") from error
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as error:
        raise Rejection(f"{path.name} looks like a workbook but cannot be read: {error}") from error


def _read_compound(path: Path, budget: Budget) -> list[Sheet]:
    """An OLE compound file: an encrypted OOXML workbook is refused as password-protected, anything that is
    not an Excel workbook as such, and an old binary workbook is read by calamine in a child process."""
    streams = compound_file_streams(path)
    if streams is None:
        raise Rejection(
            f"{path.name} starts like an old-format (.xls) workbook but its compound-file header is damaged; the "
            "file cannot be read"
        )
    if streams & _ENCRYPTED_STREAMS:
        raise Rejection(f"{path.name} is password-protected; save it without a password and offer it again")
    if streams and not streams & _XLS_STREAMS:
        raise Rejection(
            f"{path.name} is an OLE compound file but not an Excel workbook (it holds {', '.join(sorted(streams)[:5])})"
        )
    return _read_xls(path, budget)


_FREE_SECTORS = 0xFFFFFFFA  # sector numbers from here up mark the end of a chain, or free or special sectors
_MAX_DIRECTORY_SECTORS = 4096


def compound_file_streams(path: Path) -> set[str] | None:
    """The names in an OLE compound file's directory: None if its header is no compound file's, empty if the
    directory cannot be followed (calamine then decides). Only the header, the first 109 FAT sectors and the
    directory's own sectors are read."""
    names: set[str] = set()
    try:
        with path.open("rb") as handle:
            header = handle.read(512)
            shift = struct.unpack_from("<H", header, 0x1E)[0]
            if shift not in (9, 12) or struct.unpack_from("<H", header, 0x1C)[0] != 0xFFFE:
                return None
            size = 1 << shift

            def sector(number: int) -> bytes:
                handle.seek((number + 1) * size)
                return handle.read(size)

            fat: list[int] = []
            for fat_sector in struct.unpack_from("<109I", header, 0x4C):
                if fat_sector < _FREE_SECTORS:
                    block = sector(fat_sector)
                    fat.extend(struct.unpack(f"<{len(block) // 4}I", block[: len(block) // 4 * 4]))
            current = struct.unpack_from("<I", header, 0x30)[0]
            for _ in range(_MAX_DIRECTORY_SECTORS):
                if current >= _FREE_SECTORS or current >= len(fat):
                    break
                block = sector(current)
                for offset in range(0, len(block) - 127, 128):
                    length = struct.unpack_from("<H", block, offset + 64)[0]
                    if 2 <= length <= 64 and block[offset + 66] in (1, 2, 5):
                        names.add(block[offset : offset + length - 2].decode("utf-16-le", "replace"))
                current = fat[current]
    except struct.error:
        return None
    except OSError:
        return set()
    return names


def _read_xls(path: Path, budget: Budget) -> list[Sheet]:
    """An old binary workbook, read by calamine (the grid as pl.read_excel gives it, cells as text) in a child
    process limited to SENDFLOW_XLS_MAX_MEMORY_BYTES of address space and the time left: a crash, a runaway
    allocation or a hang there is this file's refusal, never the end of the run. Hidden sheets are skipped as
    for the other formats. calamine starts each grid at its first filled cell and does not say where that
    is, so an XLS sheet's rows are numbered from its first filled row."""
    limits = budget.limits
    command = [sys.executable, "-m", "sendflow.intake.spreadsheets", str(path), str(limits.xls_max_memory_bytes),
               str(limits.max_cells)]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, timeout=max(budget.seconds_left, 1.0), check=False)
    except subprocess.TimeoutExpired as error:
        raise Rejection(
            f"{path.name}: reading the workbook took longer than {limits.max_seconds:g} s (SENDFLOW_SHEET_MAX_SECONDS)"
        ) from error
    if done.returncode != 0:
        raise Rejection(_xls_failure(path.name, done, limits))
    sheets = []
    for entry in json.loads(done.stdout):
        sheet = Sheet(entry["name"], entry["visible"])
        for row, values in enumerate(entry["rows"]):
            cells = [(column, value) for column, value in enumerate(values) if value is not None]
            if cells:
                budget.spend_cells(len(cells), f"sheet {sheet.name!r}")
                sheet.rows[row] = cells
        sheets.append(sheet)
    return sheets


_CHILD_FAILED, _CHILD_OUT_OF_MEMORY, _CHILD_TOO_MANY_CELLS = 2, 3, 4


def _xls_failure(name: str, done: subprocess.CompletedProcess[bytes], limits: SheetLimits) -> str:
    said = (done.stderr.decode("utf-8", "replace").strip().splitlines() or [""])[-1][:_CHILD_MESSAGE_CHARS]
    if done.returncode == _CHILD_TOO_MANY_CELLS:
        return f"{name}: the workbook expands past {limits.max_cells:,} cells (SENDFLOW_SHEET_MAX_CELLS)"
    if done.returncode in (_CHILD_OUT_OF_MEMORY, -6) or "memory allocation" in said:
        return (
            f"{name}: reading the old-format (.xls) workbook needed more than {limits.xls_max_memory_bytes:,} bytes "
            "(SENDFLOW_XLS_MAX_MEMORY_BYTES); save it as .xlsx and offer it again"
        )
    how = f"exit status {done.returncode}" if done.returncode > 0 else f"killed by signal {-done.returncode}"
    return f"{name} looks like an old-format (.xls) workbook but cannot be read ({how}: {said or 'no message'})"


def _xls_child(path: str, memory_bytes: int, max_cells: int) -> int:
    """In the child: every sheet as JSON on stdout (name, visibility, rows of text cells); the exit status
    says why it failed (2: calamine refused, 3: out of memory, 4: too many cells)."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    import fastexcel

    try:
        reader = fastexcel.read_excel(path)
        sheets, cells = [], 0
        for name in reader.sheet_names:
            rows: list[tuple[str | None, ...]] = []
            try:
                visible = reader.load_sheet(name, header_row=None, n_rows=1).visible == "visible"
                if visible:
                    grid = pl.read_excel(
                        path, sheet_name=name, has_header=False, infer_schema_length=0,
                        drop_empty_rows=False, drop_empty_cols=False,
                    )  # fmt: skip
                    cells += grid.height * grid.width
                    if cells > max_cells:
                        return _CHILD_TOO_MANY_CELLS
                    rows = grid.rows()
            except MemoryError:
                raise
            except Exception:  # an empty or chart-only sheet has nothing to offer (as before)
                continue
            sheets.append({"name": name, "visible": visible, "rows": rows})
        json.dump(sheets, sys.stdout)
    except MemoryError:
        return _CHILD_OUT_OF_MEMORY
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # calamine's refusal, or its panic (no Exception): one line for the parent
        print((f"{type(error).__name__}: {error}".splitlines() or [""])[0], file=sys.stderr)
        return _CHILD_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(_xls_child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
