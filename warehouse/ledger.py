"""Reading and writing etl_load and etl_quarantine."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

import polars as pl

from warehouse import models
from warehouse.connection import Warehouse
from warehouse.frames import from_arrow, to_arrow

LEDGER = models.EtlLoad.__table__
QUARANTINE = models.EtlQuarantine.__table__


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class LoadRecord:
    """What an etl_load row says about one offered file."""

    source_name: str
    source_sha256: str
    status: str
    started_at: datetime
    dataset: str | None = None
    source_bytes: int | None = None
    source_layout: str | None = None
    partition_values: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_skipped: int = 0
    message: str | None = None
    finished_at: datetime | None = field(default=None)

    def values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def insert_load(cursor: Any, warehouse: Warehouse, record: LoadRecord) -> int:
    """Insert the etl_load row inside the caller's transaction; returns its load_id."""
    record.finished_at = record.finished_at or now()
    values = record.values()
    for key in ("started_at", "finished_at"):
        values[key] = warehouse.timestamp(values[key])
    columns = list(values)
    cursor.execute(
        f"INSERT INTO etl_load ({', '.join(columns)}) VALUES ({warehouse.params(len(columns))}) RETURNING load_id",
        list(values.values()),
    )
    (load_id,) = cursor.fetchone()
    return int(load_id)


def update_load(cursor: Any, warehouse: Warehouse, load_id: int, record: LoadRecord) -> None:
    """Complete the row insert_load began, inside the same transaction, once the counts are known."""
    record.finished_at = now()
    values = {k: v for k, v in record.values().items() if k not in ("source_sha256", "started_at")}
    values["finished_at"] = warehouse.timestamp(values["finished_at"])
    assignments = ", ".join(f"{column} = {warehouse.param(i)}" for i, column in enumerate(values, start=1))
    cursor.execute(
        f"UPDATE etl_load SET {assignments} WHERE load_id = {warehouse.param(len(values) + 1)}",
        [*values.values(), load_id],
    )


def insert_quarantine(cursor: Any, load_id: int, dataset: str, quarantine: pl.DataFrame) -> None:
    if quarantine.is_empty():
        return
    rows = quarantine.with_columns(pl.lit(load_id).alias("load_id"), pl.lit(dataset).alias("dataset"))
    cursor.adbc_ingest(QUARANTINE.name, to_arrow(rows, QUARANTINE), mode="append")


def record_outcome(warehouse: Warehouse, record: LoadRecord, quarantine: pl.DataFrame | None = None) -> int:
    """Write a load that publishes nothing (duplicate, rejected, failed) in its own transaction."""
    connection = warehouse.connect()
    try:
        cursor = warehouse.cursor(connection)
        load_id = insert_load(cursor, warehouse, record)
        if quarantine is not None and record.dataset:
            insert_quarantine(cursor, load_id, record.dataset, quarantine)
        connection.commit()
        return load_id
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.close()


def loaded_with_sha256(warehouse: Warehouse, sha256: str) -> dict[str, Any] | None:
    """The load that published these bytes, if any."""
    frame = query(
        warehouse,
        f"SELECT load_id, dataset, source_name FROM etl_load WHERE source_sha256 = {warehouse.param(1)} "
        "AND status = 'loaded'",
        [sha256],
    )
    return frame.row(0, named=True) if frame.height else None


def recent_loads(warehouse: Warehouse, limit: int = 20) -> pl.DataFrame:
    data = query(warehouse, f"SELECT * FROM etl_load ORDER BY load_id DESC LIMIT {int(limit)}")
    return from_arrow(data.to_arrow(), LEDGER) if data.height else data


def read_table(warehouse: Warehouse, table: str, where: str = "", order_by: str = "") -> pl.DataFrame:
    """A table's rows typed as its model says, whichever backend (SQLite hands back dates as text)."""
    sql = f"SELECT * FROM {table} {f'WHERE {where}' if where else ''} {f'ORDER BY {order_by}' if order_by else ''}"
    return from_arrow(query(warehouse, sql).to_arrow(), models.metadata.tables[table])


def query(warehouse: Warehouse, sql: str, parameters: list[Any] | None = None) -> pl.DataFrame:
    connection = warehouse.connect()
    try:
        cursor = warehouse.cursor(connection)
        cursor.execute(sql, parameters or None)
        result = pl.from_arrow(cursor.fetch_arrow_table())
        connection.rollback()
        assert isinstance(result, pl.DataFrame)
        return result
    finally:
        connection.close()
