"""Publishing one file: every table it touches, its ledger row and its quarantine, in one transaction.

A file arrives in one or more batches (a national pupil census is read in bounded pieces). Each batch's
rows go into the open transaction as they come; the commit happens once, after the last, so readers see
the old rows or the new rows, never a mix. Silver Parquet is written to hidden temporary names first and
moved into place after the commit, so a failed load leaves the lake as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import sqlalchemy as sa

from sendflow.core.vocabulary import LoadStatus
from sendflow.warehouse import models
from sendflow.warehouse.connection import Session, Warehouse
from sendflow.warehouse.faults import fault_point
from sendflow.warehouse.frames import from_arrow
from sendflow.warehouse.lake import Lake, StagedFile
from sendflow.warehouse.ledger import LoadRecord, insert_load, insert_quarantine, record_outcome, update_load


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
class Batch:
    """One batch of a file: the rows it replaces partitions with, and the source rows it holds back."""

    parts: Sequence[Partitioned]
    quarantine: pl.DataFrame


@dataclass(frozen=True)
class Published:
    load_id: int
    status: LoadStatus  # loaded, or duplicate when another process published the same bytes first
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
    """One load into the warehouse: begin(), send() each batch, finish().

    SQLite: one transaction from begin to finish; its single writer lock is the load's anyway, and the
    ledger row is claimed first, so a second offer of the same bytes waits and becomes a duplicate.
    PostgreSQL: batches are COPYed into a temporary staging table (no locks on published tables, nothing
    left behind if the process dies: the server drops it with the session), checked there, and published
    at the end in one short transaction that claims the ledger row, replaces the partitions, rebuilds
    derived tables and records the quarantine.
    """

    warehouse: Warehouse
    lake: Lake
    record: LoadRecord
    load_id: int = 0
    _session: Session | None = None
    _staged: list[StagedFile] = field(default_factory=list)
    _replaced: dict[str, set[tuple]] = field(default_factory=dict)
    _keys: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)
    _superseded: set[int] = field(default_factory=set)
    _sent: dict[str, int] = field(default_factory=dict)
    _held_back: list[pl.DataFrame] = field(default_factory=list)
    _batches: int = 0
    # Writing a batch (SQL, Parquet) runs beside reading and checking the next one: the drivers release
    # the GIL while they work. One writer keeps the batches in order; at most one waits, bounding memory.
    _writer: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(max_workers=1))
    _pending: Future | None = None

    @property
    def _staging(self) -> bool:
        return self.warehouse.dialect == "postgresql"

    @property
    def session(self) -> Session:
        assert self._session is not None, "begin() first"
        return self._session

    def _submit(self, work: Callable[..., None], *args: Any) -> None:
        self._drain()
        self._pending = self._writer.submit(work, *args)

    def _drain(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def begin(self) -> None:
        self._session = self.warehouse.session()
        if self._staging:
            # The id is reserved now (Parquet rows carry it) and the row written only when publishing.
            ((self.load_id,),) = self.session.rows("SELECT nextval(pg_get_serial_sequence('etl_load', 'load_id'))")
            self.session.commit()
        else:
            self._claim()

    def _claim(self) -> None:
        try:
            self.load_id = insert_load(self.session, self.warehouse, self.record, self.load_id or None)
        except Exception as error:
            if _is_duplicate_violation(error):
                raise DuplicateLoad("same bytes were published by a concurrent load") from error
            raise

    def send(self, batch: Batch) -> None:
        """Send a batch: its rows to SQL (staging or the table), its Parquet to hidden temporary files, its
        quarantine to the ledger. One piece of work per batch: the writer holds one batch while the next is
        read and checked (a second submission for the same batch would wait for the first, serialising them)."""
        self._submit(self._send, batch)

    def _send(self, batch: Batch) -> None:
        for part in batch.parts:
            self._write(part)
        self._hold_back(batch.quarantine)

    def _write(self, part: Partitioned) -> None:
        rows = part.frame.with_columns(pl.lit(self.load_id).alias("load_id"))
        done = self._replaced.setdefault(part.table, set())
        fresh = [v for v in rows.select(part.keys).unique().drop_nulls().rows() if v not in done]
        lake_keys = part.lake_keys or part.keys
        self._keys[part.table] = (part.keys, lake_keys)
        if self._staging:
            if part.table not in self._sent:
                self.session.execute(
                    f"CREATE TEMPORARY TABLE {_stage(part.table)} (LIKE {part.table} INCLUDING DEFAULTS) ON COMMIT DROP"
                )
                self._sent[part.table] = 0
            self.session.ingest(table(part.table), rows, target=_stage(part.table))
            self._sent[part.table] += rows.height
            fault_point("staging")
        else:
            self._superseded |= _delete_partitions(self.session, self.warehouse, part.table, part.keys, fresh)
            self.session.ingest(table(part.table), rows)
        done.update(fresh)
        if rows.height:
            self._batches += 1
            self._staged += self.lake.stage_partitions(rows, part.table, lake_keys, f"{self.load_id}-{self._batches}")

    def _hold_back(self, quarantine: pl.DataFrame) -> None:
        if self._staging:
            self._held_back.append(quarantine)
        else:
            insert_quarantine(self.session, self.load_id, self.record.dataset or "", quarantine)

    def finish(self, derived: Mapping[str, Derivation]) -> Published:
        """Publish: (PostgreSQL) claim, check and move the staged rows; rebuild derived tables; complete the
        ledger row; commit; then move the Parquet into place."""
        try:
            self._drain()
            self._writer.shutdown()
            if self._staging:
                self._publish_staged()
            inputs: dict[str, pl.DataFrame] = {}
            for name, derivation in derived.items():
                for source in derivation.inputs:
                    if source not in inputs:
                        inputs[source] = _read_table(self.session, source)
                rows = derivation.build(*(inputs[source] for source in derivation.inputs))
                if "load_id" not in rows.columns:  # a derivation that keeps its rows' own loads says so
                    rows = rows.with_columns(pl.lit(self.load_id).alias("load_id"))
                self.session.execute(f"DELETE FROM {name}")
                self.session.ingest(table(name), rows)
                self._staged.append(self.lake.stage_table(rows, name))
                inputs[name] = rows
            _mark_superseded(self.session, self.warehouse, self._superseded - {self.load_id}, self.load_id)
            update_load(self.session, self.warehouse, self.load_id, self.record)
            fault_point("publish")
            self.session.commit()
        except BaseException:
            self.abort()
            raise
        self.session.close()
        self._session = None
        for name, (keys, lake_keys) in self._keys.items():
            self.lake.replace_partitions(name, keys, lake_keys, self._replaced[name], f"{self.load_id}-")
        for staged in self._staged:
            staged.commit()
        return Published(self.load_id, LoadStatus.LOADED, self.record.message or "")

    def _publish_staged(self) -> None:
        # One publisher at a time: derived tables are rebuilt from everything loaded, which two
        # overlapping publishes would each miss the other's rows of.
        self.session.execute("SELECT pg_advisory_xact_lock(7310443)")
        self._claim()
        for name, sent in self._sent.items():
            ((staged,),) = self.session.rows(f"SELECT COUNT(*) FROM {_stage(name)}")
            if staged != sent:
                raise RuntimeError(f"staging for {name} holds {staged} rows, {sent} were sent")
            keys, _ = self._keys[name]
            self._superseded |= _delete_partitions(
                self.session, self.warehouse, name, keys, sorted(self._replaced[name])
            )
            columns = ", ".join(c.name for c in table(name).columns)
            self.session.execute(f"INSERT INTO {name} ({columns}) SELECT {columns} FROM {_stage(name)}")
        for quarantine in self._held_back:
            insert_quarantine(self.session, self.load_id, self.record.dataset or "", quarantine)

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # already failing: the first error is the one that matters
            self._drain()
        self._writer.shutdown()
        if self._session is not None:
            try:
                self._session.rollback()
            finally:
                self._session.close()
                self._session = None
        for staged in self._staged:
            staged.discard()


def _stage(name: str) -> str:
    return f"stage_{name}"


def publish(
    warehouse: Warehouse,
    lake: Lake,
    record: LoadRecord,
    batches: Iterable[Batch],
    derived: Mapping[str, Derivation],
    slot: contextlib.AbstractContextManager[object] | None = None,
) -> Published:
    """The one way a load is published: begin, send each batch as it comes, finish inside `slot` (a
    per-dataset concurrency slot, say), abort on any error; a concurrent load of the same bytes that won
    makes this one a duplicate. `batches` may be a generator that reads, checks and finally refuses the
    file (raising): the error aborts the publication like any other."""
    publication = Publication(warehouse, lake, record)
    # Claimed as loaded inside the transaction: the unique index on loaded hashes then makes a concurrent
    # offer of the same bytes wait for this one and become a duplicate; nobody sees it unless it commits.
    record.status = LoadStatus.LOADED
    try:
        publication.begin()
        for batch in batches:
            publication.send(batch)
        with slot if slot is not None else contextlib.nullcontext():
            return publication.finish(derived)
    except DuplicateLoad:
        publication.abort()
        return lost_race(warehouse, record)
    except BaseException:
        publication.abort()
        raise


_IN_LIST = 500  # values per IN (...): well under SQLite's and PostgreSQL's parameter limits


def _delete_partitions(
    session: Session, warehouse: Warehouse, name: str, keys: tuple[str, ...], partitions: list[tuple]
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
                [f"{key} = {warehouse.param()}" for key in fixed] + [f"{varying} IN ({warehouse.params(len(chunk))})"]
            )
            rows = session.rows(f"SELECT DISTINCT load_id FROM {name} WHERE {where}", parameters)
            superseded |= {int(r[0]) for r in rows if r[0] is not None}
            session.execute(f"DELETE FROM {name} WHERE {where}", parameters)
    return superseded


def _mark_superseded(session: Session, warehouse: Warehouse, load_ids: set[int], by: int) -> None:
    if load_ids:
        session.execute(
            f"UPDATE etl_load SET superseded_by_load_id = {warehouse.param()} "
            f"WHERE load_id IN ({warehouse.params(len(load_ids))})",
            [by, *sorted(load_ids)],
        )


def _read_table(session: Session, name: str) -> pl.DataFrame:
    return from_arrow(session.frame(f"SELECT * FROM {name}").to_arrow(), table(name))


def lost_race(warehouse: Warehouse, record: LoadRecord) -> Published:
    """Another process published the same bytes between our check and our commit: record a duplicate."""
    record.status = LoadStatus.DUPLICATE
    record.message = "same bytes were published by a concurrent load"
    record.rows_loaded = record.rows_quarantined = record.rows_skipped = 0
    load_id = record_outcome(warehouse, record)
    return Published(load_id, LoadStatus.DUPLICATE, record.message)
