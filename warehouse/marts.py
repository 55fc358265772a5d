"""Gold: each reporting view written out as Parquet for BI tools that read files (DuckDB, Power BI),
rebuilt only when a table it reads has been reloaded."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sendflow.warehouse import ledger
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.lake import Lake
from sendflow.warehouse.schema import existing_tables
from sendflow.warehouse.views import VIEWS, View


def views_reading(tables: Iterable[str]) -> list[View]:
    """Views that read any of `tables`, directly or through another view, in creation order."""
    changed = set(tables)
    affected: list[View] = []
    for view in VIEWS:  # VIEWS is in dependency order: a view comes after those it reads
        if changed & set(view.requires):
            affected.append(view)
            changed.add(view.name)
    return affected


def existing_relations(warehouse: Warehouse) -> set[str]:
    with warehouse.session() as session:
        return existing_tables(session, warehouse)


def gold_path(lake: Lake, view: str) -> Path:
    return lake.root / "gold" / view / "data.parquet"


def write_gold(warehouse: Warehouse, lake: Lake, view: View) -> tuple[Path, int]:
    """The whole view, replaced atomically: these are aggregates, small enough to rewrite."""
    frame = ledger.query(warehouse, f"SELECT * FROM {view.name}")
    target = gold_path(lake, view.name)
    staged = lake.stage(frame, target.parent, target.name)
    staged.commit()
    return target, frame.height
