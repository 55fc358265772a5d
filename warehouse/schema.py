"""Bring a warehouse to the current schema: tables from the models, reference rows, views.

Everything here runs through the same ADBC connection type as the loads. On SQLite that matters: ADBC
bundles its own SQLite library, and two SQLite libraries holding one database file open in the same
process corrupt it (each drops the other's POSIX locks). SQLAlchemy only compiles the DDL.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable, SetColumnComment, SetTableComment

from warehouse import models
from warehouse.connection import Warehouse
from warehouse.frames import to_arrow
from warehouse.reference import la_ons_codes, la_successors, local_authorities
from warehouse.views import VIEWS

SCHEMA_LOCK_KEY = 7_310_442  # any constant: serialises concurrent schema creation on PostgreSQL


def _dialect(warehouse: Warehouse) -> sa.Dialect:
    return sqlite.dialect() if warehouse.dialect == "sqlite" else postgresql.psycopg.dialect()


def ddl(warehouse: Warehouse, table: sa.Table) -> list[str]:
    """CREATE TABLE and its indexes (and, on PostgreSQL, the descriptions as COMMENT ON)."""
    dialect = _dialect(warehouse)
    statements = [str(CreateTable(table, if_not_exists=True).compile(dialect=dialect))]
    statements += [str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect)) for index in table.indexes]
    if warehouse.dialect == "postgresql":
        if table.comment:
            statements.append(str(SetTableComment(table).compile(dialect=dialect)))
        statements += [str(SetColumnComment(c).compile(dialect=dialect)) for c in table.columns if c.comment]
    return statements


def existing_tables(cursor: Any, warehouse: Warehouse) -> set[str]:
    if warehouse.dialect == "sqlite":
        cursor.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
    else:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
    return {row[0] for row in cursor.fetchall()}


def _use_write_ahead_log(warehouse: Warehouse) -> None:
    """WAL lets BI tools keep reading while a load writes; it is a property of the file, set outside a transaction."""
    import adbc_driver_sqlite.dbapi as adbc_sqlite

    warehouse.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    with adbc_sqlite.connect(str(warehouse.sqlite_path), autocommit=True) as connection:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.fetchall()
        cursor.close()


def ensure_schema(warehouse: Warehouse) -> None:
    if warehouse.dialect == "sqlite":
        _use_write_ahead_log(warehouse)
    connection = warehouse.connect()
    try:
        cursor = warehouse.cursor(connection)
        if warehouse.dialect == "postgresql":
            cursor.execute(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY})")
            cursor.fetchall()
        present = existing_tables(cursor, warehouse)
        for table in models.metadata.sorted_tables:
            if table.name not in present:
                for statement in ddl(warehouse, table):
                    cursor.execute(statement)
        _seed(cursor, warehouse, models.DimLocalAuthority.__table__, local_authorities())
        _seed(cursor, warehouse, models.LaSuccessor.__table__, la_successors())
        _seed(cursor, warehouse, models.LaOnsCode.__table__, la_ons_codes())
        _create_views(cursor, warehouse)
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.close()


def _seed(cursor: Any, warehouse: Warehouse, table: sa.Table, reference: pl.DataFrame) -> None:
    """Replace the table's rows with the reference's, but only when they differ (keeps start-up write-free)."""
    columns = [c.name for c in table.columns if c.name in reference.columns]
    cursor.execute(f"SELECT {', '.join(columns)} FROM {table.name}")
    existing = sorted(tuple(str(v) if v is not None else None for v in row) for row in cursor.fetchall())
    wanted = sorted(tuple(str(v) if v is not None else None for v in row) for row in reference.select(columns).rows())
    if existing == wanted:
        return
    cursor.execute(f"DELETE FROM {table.name}")
    cursor.adbc_ingest(table.name, to_arrow(reference, table), mode="append")


def _create_views(cursor: Any, warehouse: Warehouse) -> None:
    present = existing_tables(cursor, warehouse)
    for view in VIEWS:
        if not set(view.requires) <= present:
            continue
        if warehouse.dialect == "postgresql":
            cursor.execute(f"CREATE OR REPLACE VIEW {view.name} AS {view.sql}")
            comment = view.comment.replace("'", "''")
            cursor.execute(f"COMMENT ON VIEW {view.name} IS '{comment}'")
        else:
            statement = f"CREATE VIEW {view.name} AS {view.sql}"
            cursor.execute(f"SELECT sql FROM sqlite_master WHERE type = 'view' AND name = '{view.name}'")
            current = cursor.fetchall()
            if not current or current[0][0] != statement:
                cursor.execute(f"DROP VIEW IF EXISTS {view.name}")
                cursor.execute(statement)
        present.add(view.name)
