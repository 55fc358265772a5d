"""What read-only commands ask of the ledger, answered without importing Polars, Arrow, ADBC or SQLAlchemy
(`sendflow status` answers in a fraction of a second) and without writing: no DDL, no file created."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sendflow.warehouse.connection import Warehouse, check_reachable

RECENT_COLUMNS = (
    "load_id", "finished_at", "status", "dataset", "source_name", "partition_values", "rows_loaded",
    "rows_quarantined", "message",
)  # fmt: skip


def has_ledger(warehouse: Warehouse) -> bool:
    """Whether there is an etl_load to read. Raises WarehouseUnavailable (DatabaseMissing among them) when a
    PostgreSQL warehouse cannot be opened; a missing SQLite file is no ledger, and stays missing."""
    if warehouse.dialect == "sqlite":
        if not warehouse.sqlite_path.is_file():
            return False
        found = warehouse.read_rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'etl_load'")
    else:
        check_reachable(warehouse)
        found = warehouse.read_rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_name = 'etl_load'"
        )
    return bool(found)


def recent_loads(warehouse: Warehouse, limit: int = 20) -> list[dict[str, Any]]:
    """The newest loads first; `finished_at` as a datetime on both backends (SQLite keeps it as ISO text)."""
    rows = warehouse.read_rows(
        f"SELECT {', '.join(RECENT_COLUMNS)} FROM etl_load ORDER BY load_id DESC LIMIT {int(limit)}"
    )
    for row in rows:
        if isinstance(row["finished_at"], str):
            row["finished_at"] = datetime.fromisoformat(row["finished_at"])
    return rows
