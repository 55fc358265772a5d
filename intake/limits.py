"""How far reading a workbook may go, counted while it is read, and the one zip check (ingest and landing).

A workbook is a zip of XML (XLSX, XLSM, ODS) or a compound file (XLS): its size on disk says little about
what it expands to (an 11.7 MB sheet can expand to 4 GB, a 923-byte ODS to billions of repeated cells).
Every read is bounded on three counts, each a setting (environment variable) of `core.settings.Settings`:

- expanded bytes, SENDFLOW_SHEET_MAX_EXPANDED_BYTES (default 256 MiB): the bytes actually decompressed from
  the members read (workbook, relationships, styles, shared strings, each visible sheet): a member whose
  declared size goes past the limit is refused before it is read, and the bytes are counted as they stream,
  so one whose header understates its size is stopped all the same. The largest real workbook expands to
  24 MB.
- cells, SENDFLOW_SHEET_MAX_CELLS (default 5,000,000): the cells holding something, across the sheets read
  (an ODS run of repeated cells counts every cell it repeats, before it is made), plus every shared string,
  merged range, style and relationship kept (each is held in memory as a cell is); and, separately, the grid
  the chosen sheet fills from its first to its last filled row and column, since that is what is allocated.
  The largest real sheet fills 663,000 cells.
- wall time, SENDFLOW_SHEET_MAX_SECONDS (default 120 s): the slowest real workbook reads in about 6 s on a
  busy machine; reading runs at roughly 150,000 cells a second, so the cell limit is met well inside it.

Before any of that a zip passes the landing zone's rule (`check_zip`, which landing/zone.py calls too): at
most SENDFLOW_ARCHIVE_MAX_MEMBERS members, declaring at most SENDFLOW_ARCHIVE_MAX_EXPANDED_BYTES in all.
An old binary .xls is read by calamine in a child process limited to SENDFLOW_XLS_MAX_MEMORY_BYTES of address
space (default 2 GiB) and the same wall time, so a crash or a runaway allocation there fails that file only.
Going past any bound is a Rejection naming the file, what went past, the bound and its setting.

The sheets a reader hands on are `Sheet`s: their filled cells by position, sparse, never allocated by what
a file declares about its own extent (an XLSX <dimension> can be wrong, or claim A1:XFD1048576).
"""

from __future__ import annotations

import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

from sendflow.core.settings import Settings
from sendflow.intake.raw import Rejection

_CHUNK = 64 * 1024
# The time is looked at every so many cells as well as on every block read: a block of a few KB can repeat
# into millions of ODS cells.
_CELLS_PER_CLOCK_CHECK = 4096


@dataclass(frozen=True)
class SheetLimits:
    """The bounds of one workbook read; `from_settings` is the only way the pipeline makes one."""

    max_expanded_bytes: int
    max_cells: int
    max_seconds: float
    zip_max_members: int
    zip_max_declared_bytes: int
    xls_max_memory_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> SheetLimits:
        return cls(
            max_expanded_bytes=settings.sheet_max_expanded_bytes,
            max_cells=settings.sheet_max_cells,
            max_seconds=settings.sheet_max_seconds,
            zip_max_members=settings.archive_max_members,
            zip_max_declared_bytes=settings.archive_max_expanded_bytes,
            xls_max_memory_bytes=settings.xls_max_memory_bytes,
        )


def check_zip(path: Path, max_members: int, max_declared_bytes: int) -> list[zipfile.ZipInfo]:
    """Every member of a zip (archive or workbook), or a Rejection: unreadable, too many members, or members
    declaring more than `max_declared_bytes` in all. Declared sizes can lie; readers count what they expand."""
    try:
        with zipfile.ZipFile(path) as opened:
            infos = opened.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise Rejection(f"{path.name} looks like a zip archive but cannot be read: {error}") from error
    if len(infos) > max_members:
        raise Rejection(
            f"{path.name} has {len(infos):,} members, over the limit of {max_members:,} (SENDFLOW_ARCHIVE_MAX_MEMBERS)"
        )
    declared = sum(info.file_size for info in infos)
    if declared > max_declared_bytes:
        raise Rejection(
            f"{path.name} would expand to {declared:,} bytes, over the limit of {max_declared_bytes:,} "
            "(SENDFLOW_ARCHIVE_MAX_EXPANDED_BYTES; a zip bomb, or too big to load)"
        )
    return infos


class Budget:
    """What one workbook read has spent of its limits so far; every overrun is a Rejection naming the limit."""

    def __init__(self, file_name: str, limits: SheetLimits) -> None:
        self.file_name = file_name
        self.limits = limits
        self.expanded_bytes = 0
        self.cells = 0
        self._started = time.monotonic()
        self._next_clock_check = _CELLS_PER_CLOCK_CHECK

    @property
    def seconds_left(self) -> float:
        return self.limits.max_seconds - (time.monotonic() - self._started)

    def open(self, archive: zipfile.ZipFile, member: str, what: str) -> CountedStream:
        """A member to stream through a parser, counted against the expanded-bytes limit and the clock. A
        member whose declared size already goes past the limit is refused before a byte is read (an honest
        zip bomb fails at once; one whose header understates its size is stopped by the count)."""
        declared = archive.getinfo(member).file_size
        if self.expanded_bytes + declared > self.limits.max_expanded_bytes:
            self._refuse_bytes(what)
        return CountedStream(archive.open(member), self, what)

    def _refuse_bytes(self, what: str) -> None:
        raise Rejection(
            f"{self.file_name}: {what} expands past {self.limits.max_expanded_bytes:,} bytes "
            "(SENDFLOW_SHEET_MAX_EXPANDED_BYTES): a zip bomb, or too big to read as a workbook"
        )

    def spend_bytes(self, count: int, what: str) -> None:
        self.expanded_bytes += count
        if self.expanded_bytes > self.limits.max_expanded_bytes:
            self._refuse_bytes(what)
        self.check_clock(what)

    def spend_cells(self, count: int, what: str) -> None:
        self.cells += count
        if self.cells > self.limits.max_cells:
            raise Rejection(
                f"{self.file_name}: {what} expands past {self.limits.max_cells:,} cells (SENDFLOW_SHEET_MAX_CELLS)"
            )
        if self.cells >= self._next_clock_check:
            self._next_clock_check = self.cells + _CELLS_PER_CLOCK_CHECK
            self.check_clock(what)

    def check_clock(self, what: str) -> None:
        if self.seconds_left < 0:
            raise Rejection(
                f"{self.file_name}: reading {what} took longer than {self.limits.max_seconds:g} s "
                "(SENDFLOW_SHEET_MAX_SECONDS)"
            )


class CountedStream:
    """A zip member read in blocks, each block's expanded bytes spent from the budget before it is parsed."""

    def __init__(self, raw: IO[bytes], budget: Budget, what: str) -> None:
        self._raw, self._budget, self.what = raw, budget, what

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:  # never one unbounded read: block by block, each counted
            return b"".join(iter(lambda: self.read(_CHUNK), b""))
        block = self._raw.read(size)
        self._budget.spend_bytes(len(block), self.what)
        return block

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> CountedStream:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


# A merged range: (first row, first column, last row, last column), 0-based and inclusive.
CellRange = tuple[int, int, int, int]
# Excel's grid, which no reference may leave: XFD1048576 is its last cell.
MAX_ROWS, MAX_COLUMNS = 1_048_576, 16_384


def column_letters(column: int) -> str:
    """0 -> 'A', 25 -> 'Z', 26 -> 'AA'."""
    letters = ""
    column += 1
    while column:
        column, remainder = divmod(column - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def cell_name(row: int, column: int) -> str:
    """The A1 name of a 0-based position: (4, 2) -> 'C5'."""
    return f"{column_letters(column)}{row + 1}"


def range_name(cells: CellRange) -> str:
    first_row, first_column, last_row, last_column = cells
    return f"{cell_name(first_row, first_column)}:{cell_name(last_row, last_column)}"


@dataclass
class Sheet:
    """One sheet as read: its filled cells by 0-based position (sparse: what is not there is empty), and its
    merged ranges. A cell holding None is there but empty (it counts towards the sheet's extent, as it did
    for calamine: an Excel #N/A). `visible` is False for a hidden or very hidden sheet, which is never read."""

    name: str
    visible: bool = True
    rows: dict[int, list[tuple[int, str | None]]] = field(default_factory=dict)
    merges: list[CellRange] = field(default_factory=list)

    def extent(self) -> CellRange | None:
        """First row, first column, last row, last column holding a cell; None for an empty sheet."""
        filled = [row for row, cells in self.rows.items() if cells]
        if not filled:
            return None
        columns = [column for row in filled for column, _ in self.rows[row]]
        return min(filled), min(columns), max(filled), max(columns)
