"""Publishing one validated file: every table it touches, its ledger row and its quarantine, in one transaction.

Readers see the old rows or the new rows. Silver Parquet is written to temporary names before the
commit and renamed into place after it, so a failed load leaves the lake as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa

from warehouse import models
from warehouse.connection import Warehouse
from warehouse.frames import from_arrow, to_arrow
from warehouse.lake import Lake, StagedFile
from warehouse.ledger import LoadRecord, insert_load, insert_quarantine, record_outcome


@dataclass(frozen=True)
class Partitioned:
    """Rows that replace, in `table`, every partition (combination of `keys` values) they contain."""

    table: str
    keys: tuple[str, ...]
    frame: pl.DataFrame


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


def table(name: str) -> sa.Table:
    return models.metadata.tables[name]


def _is_duplicate_violation(error: Exception) -> bool:
    text = str(error).lower()
    return "uq_etl_load_loaded_sha256" in text or ("unique" in text and "etl_load" in text)


def publish(
    warehouse: Warehouse,
    lake: Lake,
    record: LoadRecord,
    partitioned: Sequence[Partitioned],
    derived: Mapping[str, Derivation],
    quarantine: pl.DataFrame,
) -> Published:
    """Replace the partitions, rebuild derived tables from their source table, write the ledger row."""
    connection = warehouse.connect()
    staged: list[StagedFile] = []
    try:
        cursor = warehouse.cursor(connection)
        try:
            load_id = insert_load(cursor, warehouse, record)
        except Exception as error:
            if not _is_duplicate_violation(error):
                raise
            connection.rollback()
            return _lost_race(warehouse, record)
        superseded: set[int] = set()
        for part in partitioned:
            rows = part.frame.with_columns(pl.lit(load_id).alias("load_id"))
            superseded |= _replace_partitions(cursor, warehouse, part.table, part.keys, rows)
            staged += lake.stage_partitions(rows, part.table, part.keys)
        inputs: dict[str, pl.DataFrame] = {}
        for name, derivation in derived.items():
            for source in derivation.inputs:
                if source not in inputs:
                    inputs[source] = _read_table(cursor, source)
            rows = derivation.build(*(inputs[source] for source in derivation.inputs))
            if "load_id" not in rows.columns:  # a derivation that keeps its rows' own loads says so
                rows = rows.with_columns(pl.lit(load_id).alias("load_id"))
            cursor.execute(f"DELETE FROM {name}")
            cursor.adbc_ingest(name, to_arrow(rows, table(name)), mode="append")
            staged.append(lake.stage_table(rows, name))
            inputs[name] = rows
        insert_quarantine(cursor, load_id, record.dataset or "", quarantine)
        _mark_superseded(cursor, warehouse, superseded - {load_id}, load_id)
        connection.commit()
    except BaseException:
        connection.rollback()
        for file in staged:
            file.discard()
        raise
    finally:
        connection.close()
    for file in staged:
        file.commit()
    return Published(load_id, "loaded", record.message or "")


def _replace_partitions(
    cursor: Any, warehouse: Warehouse, name: str, keys: tuple[str, ...], rows: pl.DataFrame
) -> set[int]:
    superseded: set[int] = set()
    where = " AND ".join(f"{key} = {warehouse.param(i)}" for i, key in enumerate(keys, start=1))
    for values in rows.select(keys).unique().drop_nulls().rows():
        parameters = [v.isoformat() if hasattr(v, "isoformat") and warehouse.dialect == "sqlite" else v for v in values]
        cursor.execute(f"SELECT DISTINCT load_id FROM {name} WHERE {where}", parameters)
        superseded |= {int(r[0]) for r in cursor.fetchall() if r[0] is not None}
        cursor.execute(f"DELETE FROM {name} WHERE {where}", parameters)
    cursor.adbc_ingest(name, to_arrow(rows, table(name)), mode="append")
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


def _lost_race(warehouse: Warehouse, record: LoadRecord) -> Published:
    """Another process published the same bytes between our check and our commit: record a duplicate."""
    record.status = "duplicate"
    record.message = "same bytes were published by a concurrent load"
    record.rows_loaded = record.rows_quarantined = record.rows_skipped = 0
    load_id = record_outcome(warehouse, record)
    return Published(load_id, "duplicate", record.message)
