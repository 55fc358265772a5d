"""Bring a warehouse to the current schema: tables from the models, reference rows, views."""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from warehouse import models
from warehouse.connection import Warehouse
from warehouse.reference import la_successors, local_authorities
from warehouse.views import VIEWS


def ensure_schema(warehouse: Warehouse) -> None:
    engine = warehouse.engine
    if warehouse.dialect == "sqlite":
        with engine.connect() as connection:
            # WAL lets BI tools keep reading while a load writes.
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")
    models.metadata.create_all(engine)
    with engine.begin() as connection:
        _seed(connection, models.DimLocalAuthority.__table__, local_authorities())
        _seed(connection, models.LaSuccessor.__table__, la_successors())
        _create_views(connection, warehouse)


def _seed(connection: sa.Connection, table: sa.Table, reference: pl.DataFrame) -> None:
    """Replace the table's rows with the reference's, but only when they differ (keeps start-up write-free)."""
    columns = [c.name for c in table.columns if c.name in reference.columns]
    wanted = sorted(tuple(row) for row in reference.select(columns).rows())
    existing = sorted(tuple(row) for row in connection.execute(sa.select(*[table.c[c] for c in columns])).all())
    if existing == wanted:
        return
    connection.execute(table.delete())
    connection.execute(table.insert(), reference.select(columns).to_dicts())


def _create_views(connection: sa.Connection, warehouse: Warehouse) -> None:
    for name, body in VIEWS.items():
        if warehouse.dialect == "postgresql":
            connection.exec_driver_sql(f"CREATE OR REPLACE VIEW {name} AS {body}")
            continue
        statement = f"CREATE VIEW {name} AS {body}"
        current = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'view' AND name = ?", (name,)
        ).scalar()
        if current != statement:
            connection.exec_driver_sql(f"DROP VIEW IF EXISTS {name}")
            connection.exec_driver_sql(statement)
