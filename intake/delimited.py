"""CSV files: read whole when small, or in school-aligned pieces when large."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import polars as pl

from sendflow.intake.decoding import Decoded, decode, refuse_truncated, utf8_source
from sendflow.intake.header import header_names, header_row_index
from sendflow.intake.raw import (
    HEADER_SEARCH_ROWS,
    RawTable,
    Rejection,
    preamble,
    with_header,
)
from sendflow.intake.structure import REASONS, ROW_PROBLEMS, leading_rows, ragged_rows
from sendflow.transforms.common import (
    SOURCE_ROW,
    Layout,
    match_columns,
)


def fewest_fields(header: list[str], layouts: list[Layout]) -> int:
    """The fewest fields a row under this header may have: the header's width, less the trailing columns a
    layout's rows leave out (Layout.omitted_trailing) where the header ends with them."""
    return min((layout.fewest_fields(header) for layout in layouts), default=len(header))


def read_csv(
    decoded: Decoded, name: str, layouts: list[Layout], skip: int | None = None, fewest: int | None = None
) -> RawTable:
    """A decoded CSV whole, its header looked for in the leading rows (or `skip` rows down); `fewest` fields
    a row may have, if the caller knows (else from the layouts)."""
    text = decoded.text
    leading = leading_rows(text, HEADER_SEARCH_ROWS)
    index = skip if skip is not None else header_row_index(leading, layouts)[0] if layouts else 0
    if not text.strip():
        raise Rejection(f"{name} is empty")
    data = text.encode("utf-8")
    try:
        # Ragged rows are read as far as the header goes; intake/structure.py holds each one back by its line.
        grid = pl.read_csv(
            io.BytesIO(data), has_header=False, skip_rows=index, infer_schema=False, truncate_ragged_lines=True
        )
    except pl.exceptions.PolarsError:
        raise _unreadable(text, name) from None
    if grid.height == 0:
        raise Rejection(f"{name} is empty")
    header = header_names(grid.row(0))
    fewest = fewest if fewest is not None else fewest_fields(header, layouts)
    refuse_truncated(decoded.last_line, len(header), index + 1, name, fewest)
    frame = with_header(grid, 0, header).with_columns(pl.col(SOURCE_ROW) + index)
    ragged = ragged_rows(pl.scan_lines(io.BytesIO(data)), len(header), index + 1, name, text, fewest)
    return RawTable(
        frame, "csv", decoded.encoding, None, index + 1, preamble(leading[:index]), ragged=ragged, fewest_fields=fewest
    )  # fmt: skip


def _unreadable(text: str, name: str) -> Rejection:
    """Polars' parse errors quote the raw row (a pupil's name and date of birth, in a pupil return); Python's
    strict reader finds the line and says what is wrong with it without quoting it."""
    reader = csv.reader(io.StringIO(text), strict=True)
    row_start = 1
    try:
        for _ in reader:
            row_start = reader.line_num + 1
    except csv.Error as error:
        return Rejection(f"{name}: the row from line {row_start} is not well-formed CSV ({error}); check its quotes")
    return Rejection(f"{name} is not a readable CSV file (its quoting or line breaks are malformed)")


def with_problems(frame: pl.DataFrame, ragged: pl.DataFrame | None) -> pl.DataFrame:
    """The frame with ROW_PROBLEMS: the reasons intake holds a row back for (NULL for a sound row)."""
    if ragged is None or ragged.is_empty():
        return frame.with_columns(pl.lit(None, pl.String).alias(ROW_PROBLEMS))
    problems = ragged.select(SOURCE_ROW, pl.col(REASONS).alias(ROW_PROBLEMS))
    return frame.join(problems, on=SOURCE_ROW, how="left", maintain_order="left")


def batches(raw: RawTable, key: tuple[str, ...] = (), rows: int = 1_000_000) -> Iterator[pl.DataFrame]:
    """The table's rows, whole, or for a large CSV whose layout names a `key`, in pieces of about `rows`
    rows that never split a key's rows (a school's pupils stay together). Each frame carries ROW_PROBLEMS."""
    if not raw.partial:
        yield with_problems(raw.frame, raw.ragged)
        return
    assert raw.path is not None
    if not key:
        whole = _whole_csv(raw)
        yield with_problems(whole.frame, whole.ragged)
        return
    yield from _aligned(_csv_pieces(raw, rows), [match_columns(raw.header, key)[k] for k in key], raw.path.name)


def _whole_csv(raw: RawTable) -> RawTable:
    assert raw.path is not None
    decoded = decode(raw.path.read_bytes(), raw.path.name)
    return read_csv(decoded, raw.path.name, [], skip=raw.header_row - 1, fewest=raw.fewest_fields)


def _csv_pieces(raw: RawTable, rows: int) -> Iterator[pl.DataFrame]:
    assert raw.path is not None
    source, decoder = utf8_source(raw.path)
    try:
        refuse_truncated(decoder.last_line, len(raw.header), raw.header_row, raw.path.name, raw.fewest_fields)
    except Rejection:
        if source != raw.path:
            source.unlink(missing_ok=True)
        raise
    scan = pl.scan_csv(
        source, has_header=False, skip_rows=raw.header_row, new_columns=raw.header, infer_schema=False,
        row_index_name=SOURCE_ROW, row_index_offset=raw.header_row + 1, truncate_ragged_lines=True,
    )  # fmt: skip
    try:
        with source.open(encoding="utf-8", newline="") as text:
            ragged = ragged_rows(
                pl.scan_lines(source), len(raw.header), raw.header_row, raw.path.name, text, raw.fewest_fields
            )
        for piece in scan.collect_batches(chunk_size=rows):
            yield with_problems(piece.with_columns(pl.col(SOURCE_ROW).cast(pl.Int64)), ragged)
    except pl.exceptions.PolarsError:
        raise Rejection(
            f"{raw.path.name} is not a readable CSV file (its quoting or line breaks are malformed)"
        ) from None
    finally:
        if source != raw.path:
            source.unlink(missing_ok=True)


def _aligned(pieces: Iterator[pl.DataFrame], key: list[str], name: str) -> Iterator[pl.DataFrame]:
    """Hold back each piece's last run of one key until the next piece, so no key straddles batches."""
    carried: pl.DataFrame | None = None
    finished: set[tuple[object, ...]] = set()

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
