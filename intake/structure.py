"""The shape of every row and the content of every text cell, checked before any transform sees them.

Three rules, the same for every dataset:
- A row with more or fewer fields than the header anywhere in a delimited file is held back naming its line
  (only a cut-off last row refuses the whole file: decoding.refuse_truncated). A blank line is no row.
- A text cell holding a control character (NUL, backspace, escape...: anything below U+0020 but tab, line
  feed and carriage return, and DEL) is no data any publisher writes: its row is held back naming the column.
- A field over FIELD_MAX_BYTES refuses the file naming its row and column: no real file comes near (the
  longest cell in ../shared is 3 KB, a LAIT definition), and one that size is a broken quote swallowing
  lines, or an attack on memory.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
from collections.abc import Iterable

import polars as pl

from sendflow.intake.raw import Rejection
from sendflow.transforms.common import SOURCE_ROW

FIELD_MAX_BYTES = 1 << 20
REASONS = "reasons"
# The column intake.delimited.batches() adds to every frame it yields: why intake holds the row back, or NULL.
# Named so that no publisher's header can collide with it.
ROW_PROBLEMS = "__sendflow_row_problems"
# The check names rows held back here carry, beside the suites' own.
ROW_WIDTH_CHECK = "row_has_the_header_s_fields"
CLEAN_TEXT_CHECK = "text_has_no_control_characters"

_CONTROL = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F]"
_QUOTED = r'"[^"]*"'  # a quoted field; an escaped quote ("") is two adjacent quoted pieces, removed alike

# Python's csv module stops at 128 KiB. Its limit is set above the project's, so a field over the project's
# limit is read, then refused by cell_problems naming its row and column; only a far larger one stops the
# header search (leading_rows), which then looks no further.
csv.field_size_limit(8 * FIELD_MAX_BYTES)

CHECK = "check"
# Problems in long form: one row per problem, the check it breaks and the reason in words.
NO_PROBLEMS = pl.DataFrame(schema={SOURCE_ROW: pl.Int64, CHECK: pl.String, REASONS: pl.String})


def leading_rows(text: str, count: int) -> list[list[str]]:
    """The first `count` rows of a CSV text (where the header is looked for), up to any row Python's reader
    cannot read: that row is judged later, with the rest of the file, by the rules that name its line."""
    rows: list[list[str]] = []
    with contextlib.suppress(csv.Error):
        for row in itertools.islice(csv.reader(io.StringIO(text)), count):
            rows.append(row)
    return rows


def ragged_rows(
    lines: pl.LazyFrame,
    width: int,
    header_line: int,
    name: str,
    text: Iterable[str] | None = None,
    fewest: int | None = None,
) -> pl.DataFrame:
    """(source_row_number, reasons) for each non-blank line after the header whose field count is not the
    header's `width` (nor, given `fewest`, between that and the width: a layout's rows may leave out its
    trailing columns). `lines` holds one `line` per line of the file. A quoted field may hold commas (counted
    out) or line breaks: when some line has an odd number of quotes, rows are not lines, and the file's rows
    are counted by Python's reader over `text` (or over the lines joined again) instead."""
    fewest = width if fewest is None else fewest
    line = pl.col("line").str.strip_chars_end("\r")
    quoted = line.str.contains('"', literal=True)
    # The regex only where a quote is: most lines of most files have none, and a literal count is cheap.
    unquoted = pl.when(quoted).then(line.str.replace_all(_QUOTED, "")).otherwise(line)
    fields = unquoted.str.count_matches(",", literal=True) + 1
    odd_quotes = (line.str.count_matches('"', literal=True) % 2) == 1
    flagged = (
        lines.with_row_index(SOURCE_ROW, offset=1)
        .filter(pl.col(SOURCE_ROW) > header_line)
        .select(
            pl.col(SOURCE_ROW).cast(pl.Int64),
            fields.alias("fields"),
            odd_quotes.alias("odd"),
            (line.str.strip_chars() == "").alias("blank"),
        )
        .filter(pl.col("odd") | (~pl.col("fields").is_between(fewest, width) & ~pl.col("blank")))
        .collect()
    )
    if flagged.is_empty():
        return NO_PROBLEMS
    if flagged["odd"].any():
        source = text if text is not None else (row + "\n" for row in lines.collect()["line"])
        return _ragged_by_reader(source, width, header_line, name, fewest)
    return _described(flagged.select(SOURCE_ROW, "fields"), width)


def _ragged_by_reader(text: Iterable[str], width: int, header_line: int, name: str, fewest: int) -> pl.DataFrame:
    found: list[tuple[int, int]] = []
    reader = csv.reader(text if not isinstance(text, str) else io.StringIO(text))
    number = 0
    try:
        for number, row in enumerate(reader, start=1):
            if number > header_line and row and any(cell.strip() for cell in row) and not fewest <= len(row) <= width:
                found.append((number, len(row)))
    except csv.Error as error:  # Python's words never quote the row
        raise Rejection(f"{name}: the row after row {number} cannot be read as CSV ({error})") from None
    frame = pl.DataFrame(found, schema={SOURCE_ROW: pl.Int64, "fields": pl.Int64}, orient="row")
    return _described(frame, width)


def _described(frame: pl.DataFrame, width: int) -> pl.DataFrame:
    return frame.select(
        pl.col(SOURCE_ROW),
        pl.lit(ROW_WIDTH_CHECK).alias(CHECK),
        pl.format(
            f"{ROW_WIDTH_CHECK} (the row has {{}} {{}}, the header {width})",
            pl.col("fields"),
            pl.when(pl.col("fields") == 1).then(pl.lit("field")).otherwise(pl.lit("fields")),
        ).alias(REASONS),
    )


def cell_problems(batch: pl.DataFrame, columns: Iterable[str], name: str) -> pl.DataFrame:
    """(source_row_number, reasons) for the rows of `batch` with a control character in one of `columns`;
    a Rejection naming row and column for a cell over FIELD_MAX_BYTES. Values are never quoted: the column
    may be a pupil's name."""
    columns = [c for c in columns if c in batch.columns and batch.schema[c] == pl.String]
    if not columns or batch.is_empty():
        return NO_PROBLEMS
    sizes = batch.select(pl.max_horizontal(pl.col(c).str.len_bytes().max() for c in columns)).item()
    if sizes is not None and sizes > FIELD_MAX_BYTES:
        for column in columns:
            over = batch.filter(pl.col(column).str.len_bytes() > FIELD_MAX_BYTES)
            if over.height:
                raise Rejection(
                    f"{name}: row {over[SOURCE_ROW][0]}, column {column!r} holds a field over the "
                    f"{FIELD_MAX_BYTES:,}-byte limit (FIELD_MAX_BYTES); a quote left open?"
                )
    dirty = batch.select(pl.col(SOURCE_ROW).cast(pl.Int64), *(pl.col(c).str.contains(_CONTROL) for c in columns))
    if not dirty.select(pl.any_horizontal(pl.exclude(SOURCE_ROW).any())).item():
        return NO_PROBLEMS
    return pl.concat(
        dirty.filter(pl.col(c)).select(
            SOURCE_ROW,
            pl.lit(CLEAN_TEXT_CHECK).alias(CHECK),
            pl.lit(f"{CLEAN_TEXT_CHECK} (column {c!r})").alias(REASONS),
        )
        for c in columns
    ).sort(SOURCE_ROW, maintain_order=True)


def blank_rows(batch: pl.DataFrame) -> pl.Series:
    """Rows with no cell holding anything but spaces: a blank line, or a spreadsheet row left empty."""
    cells = [c for c in batch.columns if c not in (SOURCE_ROW, ROW_PROBLEMS) and batch.schema[c] == pl.String]
    if not cells:
        return pl.Series([False] * batch.height)
    # A blank line reads as NULL cells, or spaces in the first; NULL tests are cheap, so they go first.
    first = pl.col(cells[0])
    return batch.select(
        pl.all_horizontal(*(pl.col(c).is_null() for c in cells[1:]), pl.lit(True))
        & (first.is_null() | (first.str.strip_chars() == ""))
    ).to_series()


def from_column(batch: pl.DataFrame) -> pl.DataFrame:
    """The ragged rows intake.delimited.batches() marked in ROW_PROBLEMS, back in long form."""
    if ROW_PROBLEMS not in batch.columns:
        return NO_PROBLEMS
    marked = batch.filter(pl.col(ROW_PROBLEMS).is_not_null())
    return marked.select(
        pl.col(SOURCE_ROW).cast(pl.Int64), pl.lit(ROW_WIDTH_CHECK).alias(CHECK), pl.col(ROW_PROBLEMS).alias(REASONS)
    )
