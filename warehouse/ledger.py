"""Reading and writing etl_load and etl_quarantine.

A load record is written and looked up by SQL on whatever session the caller holds, with neither Polars nor
the models imported: a repeat offer of loaded bytes is answered through Python's own sqlite3 in a fraction of
a second (loading/repeats.py). Frames (quarantine rows, typed tables) import Polars where they are built."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sendflow.core.vocabulary import LoadStatus
from sendflow.warehouse.connection import Session, Warehouse

if TYPE_CHECKING:
    import polars as pl
    import sqlalchemy as sa


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class LoadRecord:
    """What an etl_load row says about one offered file."""

    source_name: str
    source_sha256: str
    status: LoadStatus
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
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["status"] = str(self.status)  # the plain text, so no driver or frame sees an enum type
        return values


def insert_load(session: Session, warehouse: Warehouse, record: LoadRecord, load_id: int | None = None) -> int:
    """Insert the etl_load row inside the caller's transaction (with a reserved id, if given); returns its id."""
    record.finished_at = record.finished_at or now()
    values = record.values() if load_id is None else {"load_id": load_id, **record.values()}
    for key in ("started_at", "finished_at"):
        values[key] = warehouse.timestamp(values[key])
    columns = list(values)
    ((inserted,),) = session.rows(
        f"INSERT INTO etl_load ({', '.join(columns)}) VALUES ({warehouse.params(len(columns))}) RETURNING load_id",
        list(values.values()),
    )
    return int(inserted)


def update_load(session: Session, warehouse: Warehouse, load_id: int, record: LoadRecord) -> None:
    """Complete the row insert_load began, inside the same transaction, once the counts are known."""
    record.finished_at = now()
    values = {k: v for k, v in record.values().items() if k not in ("source_sha256", "started_at")}
    values["finished_at"] = warehouse.timestamp(values["finished_at"])
    assignments = ", ".join(f"{column} = {warehouse.param()}" for column in values)
    session.execute(
        f"UPDATE etl_load SET {assignments} WHERE load_id = {warehouse.param()}", [*values.values(), load_id]
    )


def insert_quarantine(session: Session, load_id: int, dataset: str, quarantine: pl.DataFrame) -> None:
    if not quarantine.is_empty():
        import polars as pl

        from sendflow.warehouse import models

        rows = quarantine.with_columns(pl.lit(load_id).alias("load_id"), pl.lit(dataset).alias("dataset"))
        session.ingest(models.metadata.tables["etl_quarantine"], rows)


def record_outcome(warehouse: Warehouse, record: LoadRecord, quarantine: pl.DataFrame | None = None) -> int:
    """Write a load that publishes nothing (duplicate, rejected, failed) in its own transaction."""
    with warehouse.session() as session:
        load_id = insert_load(session, warehouse, record)
        if quarantine is not None and record.dataset:
            insert_quarantine(session, load_id, record.dataset, quarantine)
    return load_id


def loaded_with_sha256(warehouse: Warehouse, sha256: str) -> dict[str, Any] | None:
    """The load that published these bytes, if any."""
    found = _dicts(
        warehouse,
        ("load_id", "dataset", "source_name"),
        f"FROM etl_load WHERE source_sha256 = {warehouse.param()} AND status = {warehouse.param()}",
        [sha256, LoadStatus.LOADED.value],
    )
    return found[0] if found else None


def latest_with_sha256(warehouse: Warehouse, sha256: str) -> dict[str, Any] | None:
    """The newest etl_load row for these bytes, whatever its status: loaded first, if they ever were."""
    found = _dicts(
        warehouse,
        ("load_id", "status", "dataset", "message"),
        f"FROM etl_load WHERE source_sha256 = {warehouse.param()} "
        f"ORDER BY CASE WHEN status = {warehouse.param()} THEN 0 ELSE 1 END, load_id DESC LIMIT 1",
        [sha256, LoadStatus.LOADED.value],
    )
    return found[0] if found else None


def loads_after(warehouse: Warehouse, load_id: int) -> list[dict[str, Any]]:
    """etl_load rows newer than `load_id`, oldest first: what a follower of the ledger has not yet seen."""
    columns = (
        "load_id", "status", "dataset", "source_name", "source_sha256", "rows_loaded", "rows_quarantined", "message"
    )  # fmt: skip
    return _dicts(warehouse, columns, f"FROM etl_load WHERE load_id > {warehouse.param()} ORDER BY load_id", [load_id])


def _dicts(warehouse: Warehouse, columns: tuple[str, ...], rest: str, parameters: list[Any]) -> list[dict[str, Any]]:
    session = warehouse.session()
    try:
        rows = session.rows(f"SELECT {', '.join(columns)} {rest}", parameters)
    finally:
        session.rollback()
        session.close()
    return [dict(zip(columns, row, strict=True)) for row in rows]


def read_table(warehouse: Warehouse, table: str, where: str = "", order_by: str = "") -> pl.DataFrame:
    """A table's rows typed as its model says, whichever backend (SQLite hands back dates as text)."""
    from sendflow.warehouse import models

    sql = f"SELECT * FROM {table} {f'WHERE {where}' if where else ''} {f'ORDER BY {order_by}' if order_by else ''}"
    return typed(query(warehouse, sql), models.metadata.tables[table])


def typed(frame: pl.DataFrame, table: sa.Table) -> pl.DataFrame:
    from sendflow.warehouse.frames import from_arrow

    return from_arrow(frame.to_arrow(), table)


def query(warehouse: Warehouse, sql: str, parameters: list[Any] | None = None) -> pl.DataFrame:
    session = warehouse.session()
    try:
        return session.frame(sql, parameters or [])
    finally:
        session.rollback()
        session.close()
