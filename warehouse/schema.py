"""Bring a warehouse to the current schema: Alembic migrations, then reference rows and views."""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable, SetColumnComment, SetTableComment

from sendflow.warehouse import migrate, models
from sendflow.warehouse.connection import Session, Warehouse
from sendflow.warehouse.reference import gdp_deflator, la_ons_codes, la_successors, local_authorities
from sendflow.warehouse.views import VIEW_COLUMNS, VIEWS

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


def existing_tables(session: Session, warehouse: Warehouse) -> set[str]:
    if warehouse.dialect == "sqlite":
        rows = session.rows("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
    else:
        rows = session.rows("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
    return {row[0] for row in rows}


def _use_write_ahead_log(warehouse: Warehouse) -> None:
    """WAL lets BI tools keep reading while a load writes; it is a property of the file, set outside a transaction."""
    import adbc_driver_sqlite.dbapi as adbc_sqlite

    warehouse.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    with adbc_sqlite.connect(str(warehouse.sqlite_path), autocommit=True) as connection:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.fetchall()
        cursor.close()


def current_revision(warehouse: Warehouse) -> str | None:
    session = warehouse.session()
    try:
        if "alembic_version" not in existing_tables(session, warehouse):
            return None
        rows = session.rows("SELECT version_num FROM alembic_version")
        return rows[0][0] if rows else None
    finally:
        session.rollback()
        session.close()


def _has_tables(warehouse: Warehouse) -> bool:
    session = warehouse.session()
    try:
        return "etl_load" in existing_tables(session, warehouse)
    finally:
        session.rollback()
        session.close()


def ensure_schema(warehouse: Warehouse) -> None:
    """Migrate to head if needed (Alembic), then reference rows and views, which are code, not history."""
    if warehouse.dialect == "sqlite":
        _use_write_ahead_log(warehouse)
    revision = current_revision(warehouse)
    if revision is None and _has_tables(warehouse):
        raise RuntimeError(
            f"the warehouse {warehouse.describe()} was created before schema migrations existed; rebuild it "
            "from its sources (delete it, then ingest the files again: bronze keeps every one) and run "
            "`sendflow db upgrade`"
        )
    if revision != migrate.head():
        migrate.upgrade(warehouse)
    with warehouse.session() as session:
        if warehouse.dialect == "postgresql":
            session.execute(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY})")
        _seed(session, models.table_of(models.DimLocalAuthority), local_authorities())
        _seed(session, models.table_of(models.LaSuccessor), la_successors())
        _seed(session, models.table_of(models.LaOnsCode), la_ons_codes())
        _seed(session, models.table_of(models.RefGdpDeflator), gdp_deflator())
        _create_views(session, warehouse)


def _seed(session: Session, table: sa.Table, reference: pl.DataFrame) -> None:
    """Replace the table's rows with the reference's, but only when they differ (keeps start-up write-free)."""
    columns = [c.name for c in table.columns if c.name in reference.columns]
    existing = sorted(tuple(_comparable(v) for v in row) for row in session.rows(
        f"SELECT {', '.join(columns)} FROM {table.name}"
    ))  # fmt: skip
    wanted = sorted(tuple(_comparable(v) for v in row) for row in reference.select(columns).rows())
    if existing == wanted:
        return
    session.execute(f"DELETE FROM {table.name}")
    session.ingest(table, reference)


def _comparable(value: object) -> str | None:
    # SQLite hands a boolean back as 0 or 1, PostgreSQL as False or True: compare both as the integer.
    if value is None:
        return None
    return str(int(value)) if isinstance(value, bool) else str(value)


def _create_views(session: Session, warehouse: Warehouse) -> None:
    present = existing_tables(session, warehouse)
    for view in VIEWS:
        if not set(view.requires) <= present:
            continue
        if warehouse.dialect == "postgresql":
            # security_invoker: a view reads with the querying role's rights, so row-level security holds.
            session.execute(f"CREATE OR REPLACE VIEW {view.name} WITH (security_invoker = true) AS {view.sql}")
            session.execute(f"COMMENT ON VIEW {view.name} IS {_literal(view.comment)}")
            for column, description in VIEW_COLUMNS.get(view.name, {}).items():
                session.execute(f"COMMENT ON COLUMN {view.name}.{column} IS {_literal(description)}")
        else:
            # SQLite keeps the statement as given but for trailing space: compare it as stored, or every start
            # would rewrite the views, a schema write that collides with a concurrent flow's.
            statement = f"CREATE VIEW {view.name} AS {view.sql.strip()}"
            current = session.rows(f"SELECT sql FROM sqlite_master WHERE type = 'view' AND name = '{view.name}'")
            if not current or current[0][0] != statement:
                session.execute(f"DROP VIEW IF EXISTS {view.name}")
                session.execute(statement)
        present.add(view.name)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
