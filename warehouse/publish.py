"""Publishing one file: every table it touches, its ledger row and its quarantine, in one transaction.

A file arrives in one or more batches (a national pupil census is read in bounded pieces). Each batch's
rows go into the open transaction as they come; the commit happens once, after the last, so readers see
the old rows or the new rows, never a mix. Silver Parquet is written to hidden temporary names first and
moved into place after the commit, so a failed load leaves the lake as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import sqlalchemy as sa

from warehouse import models
from warehouse.connection import Warehouse
from warehouse.frames import from_arrow, to_arrow
from warehouse.lake import Lake, StagedFile
from warehouse.ledger import LoadRecord, insert_load, insert_quarantine, record_outcome, update_load


@dataclass(frozen=True)
class Partitioned:
    """Rows that replace, in `table`, every partition (combination of `keys` values) they contain.

    `lake_keys` partition the Parquet copy; when they are coarser than `keys` (a pupil census replaces
    one school's rows but its lake folders are per LA) the other rows of a touched folder are kept."""

    table: str
    keys: tuple[str, ...]
    frame: pl.DataFrame
    lake_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Derivation:
    """Rebuild a table from every row of `inputs`, read inside the load's transaction."""

    inputs: tuple[str, ...]
    build: Callable[..., pl.DataFrame]


@dataclass(frozen=True)
class Published:
    load_id: int
    status: str  # "loaded", or "duplicate" when another process published the same bytes first
    message: str


class DuplicateLoad(Exception):
    """Another process published the same bytes first; its load id is in the message."""


def table(name: str) -> sa.Table:
    return models.metadata.tables[name]


def _is_duplicate_violation(error: Exception) -> bool:
    text = str(error).lower()
    return "uq_etl_load_loaded_sha256" in text or ("unique" in text and "etl_load" in text)


@dataclass
class Publication:
    """One load's transaction: begin() writes the ledger row, add() each batch, finish() commits."""

    warehouse: Warehouse
    lake: Lake
    record: LoadRecord
    load_id: int = 0
    _connection: Any = None
    _cursor: Any = None
    _staged: list[StagedFile] = field(default_factory=list)
    _replaced: dict[str, set[tuple]] = field(default_factory=dict)
    _lake_plans: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)
    _superseded: set[int] = field(default_factory=set)
    _batches: int = 0
    # Writing a batch (SQL, Parquet) runs beside reading and checking the next one: both drivers release
    # the GIL while they work. One writer keeps the batches in order; at most one waits, bounding memory.
    _writer: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=1))
    _pending: Future | None = None

    def _submit(self, work: Callable[..., None], *args: Any) -> None:
        self._drain()
        self._pending = self._writer.submit(work, *args)

    def _drain(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def begin(self) -> None:
        self._connection = self.warehouse.connect()
        self._cursor = self.warehouse.cursor(self._connection)
        try:
            self.load_id = insert_load(self._cursor, self.warehouse, self.record)
        except Exception as error:
            self.abort()
            if _is_duplicate_violation(error):
                raise DuplicateLoad("same bytes were published by a concurrent load") from error
            raise

    def add(self, part: Partitioned) -> None:
        """Replace the partitions this batch holds (each only once per load) and stage its Parquet."""
        self._submit(self._write, part)

    def _write(self, part: Partitioned) -> None:
        rows = part.frame.with_columns(pl.lit(self.load_id).alias("load_id"))
        done = self._replaced.setdefault(part.table, set())
        fresh = [v for v in rows.select(part.keys).unique().drop_nulls().rows() if v not in done]
        self._superseded |= _delete_partitions(self._cursor, self.warehouse, part.table, part.keys, fresh)
        done.update(fresh)
        if rows.height:
            self._cursor.adbc_ingest(part.table, to_arrow(rows, table(part.table)), mode="append")
            lake_keys = part.lake_keys or part.keys
            self._lake_plans[part.table] = (part.keys, lake_keys)
            self._batches += 1
            self._staged += self.lake.stage_partitions(rows, part.table, lake_keys, f"{self.load_id}-{self._batches}")

    def hold_back(self, quarantine: pl.DataFrame) -> None:
        self._submit(insert_quarantine, self._cursor, self.load_id, self.record.dataset or "", quarantine)

    def finish(self, derived: Mapping[str, Derivation]) -> Published:
        """Rebuild derived tables, complete the ledger row, commit, then move the Parquet into place."""
        try:
            self._drain()
            self._writer.shutdown()
            inputs: dict[str, pl.DataFrame] = {}
            for name, derivation in derived.items():
                for source in derivation.inputs:
                    if source not in inputs:
                        inputs[source] = _read_table(self._cursor, source)
                rows = derivation.build(*(inputs[source] for source in derivation.inputs))
                if "load_id" not in rows.columns:  # a derivation that keeps its rows' own loads says so
                    rows = rows.with_columns(pl.lit(self.load_id).alias("load_id"))
                self._cursor.execute(f"DELETE FROM {name}")
                self._cursor.adbc_ingest(name, to_arrow(rows, table(name)), mode="append")
                self._staged.append(self.lake.stage_table(rows, name))
                inputs[name] = rows
            _mark_superseded(self._cursor, self.warehouse, self._superseded - {self.load_id}, self.load_id)
            update_load(self._cursor, self.warehouse, self.load_id, self.record)
            self._connection.commit()
        except BaseException:
            self.abort()
            raise
        self._connection.close()
        for name, (keys, lake_keys) in self._lake_plans.items():
            self.lake.replace_partitions(name, keys, lake_keys, self._replaced[name], f"{self.load_id}-")
        for staged in self._staged:
            staged.commit()
        return Published(self.load_id, "loaded", self.record.message or "")

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # already failing: the first error is the one that matters
            self._drain()
        self._writer.shutdown()
        if self._connection is not None:
            try:
                self._connection.rollback()
            finally:
                self._connection.close()
                self._connection = None
        for staged in self._staged:
            staged.discard()


def publish(
    warehouse: Warehouse,
    lake: Lake,
    record: LoadRecord,
    partitioned: Sequence[Partitioned],
    derived: Mapping[str, Derivation],
    quarantine: pl.DataFrame,
) -> Published:
    """A whole file at once: replace its partitions, rebuild derived tables, write the ledger row."""
    publication = Publication(warehouse, lake, record)
    try:
        publication.begin()
    except DuplicateLoad:
        return lost_race(warehouse, record)
    try:
        for part in partitioned:
            publication.add(part)
        publication.hold_back(quarantine)
    except BaseException:
        publication.abort()
        raise
    return publication.finish(derived)


_IN_LIST = 500  # values per IN (...): well under SQLite's and PostgreSQL's parameter limits


def _delete_partitions(
    cursor: Any, warehouse: Warehouse, name: str, keys: tuple[str, ...], partitions: list[tuple]
) -> set[int]:
    """Delete the rows of the given partitions; the last key goes in IN lists, so replacing the pupils
    of 24,000 schools costs tens of statements, not tens of thousands."""
    superseded: set[int] = set()
    *fixed, varying = keys
    groups: dict[tuple, list] = {}
    for values in partitions:
        groups.setdefault(tuple(values[:-1]), []).append(values[-1])
    for head, tails in groups.items():
        for start in range(0, len(tails), _IN_LIST):
            chunk = tails[start : start + _IN_LIST]
            parameters = [
                v.isoformat() if hasattr(v, "isoformat") and warehouse.dialect == "sqlite" else v
                for v in (*head, *chunk)
            ]
            where = " AND ".join(
                [f"{key} = {warehouse.param(i)}" for i, key in enumerate(fixed, start=1)]
                + [f"{varying} IN ({warehouse.params(len(chunk), start=len(fixed) + 1)})"]
            )
            cursor.execute(f"SELECT DISTINCT load_id FROM {name} WHERE {where}", parameters)
            superseded |= {int(r[0]) for r in cursor.fetchall() if r[0] is not None}
            cursor.execute(f"DELETE FROM {name} WHERE {where}", parameters)
    return superseded


def _mark_superseded(cursor: Any, warehouse: Warehouse, load_ids: set[int], by: int) -> None:
    if load_ids:
        cursor.execute(
            f"UPDATE etl_load SET superseded_by_load_id = {warehouse.param(1)} "
            f"WHERE load_id IN ({warehouse.params(len(load_ids), start=2)})",
            [by, *sorted(load_ids)],
        )


def _read_table(cursor: Any, name: str) -> pl.DataFrame:
    cursor.execute(f"SELECT * FROM {name}")
    return from_arrow(cursor.fetch_arrow_table(), table(name))


def lost_race(warehouse: Warehouse, record: LoadRecord) -> Published:
    """Another process published the same bytes between our check and our commit: record a duplicate."""
    record.status = "duplicate"
    record.message = "same bytes were published by a concurrent load"
    record.rows_loaded = record.rows_quarantined = record.rows_skipped = 0
    load_id = record_outcome(warehouse, record)
    return Published(load_id, "duplicate", record.message)
