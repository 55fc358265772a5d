"""One warehouse URL and a session to work in it.

SQLite is reached through ADBC (bulk Arrow ingestion); PostgreSQL through psycopg (binary COPY, and
temporary staging tables that vanish with the session). A session is one transaction at a time with the
same small interface on both, so the ledger, publishing and schema code is written once.

SQLAlchemy only compiles DDL and runs migrations. On SQLite it must never hold the file open beside an
ADBC session in the same process: ADBC bundles its own SQLite library, and two SQLite libraries with one
file open corrupt it (each drops the other's POSIX locks). Its engine therefore pools nothing.

A `single_rows` warehouse reaches SQLite through Python's own sqlite3 instead: for a process that writes a
ledger row and bulk-loads nothing (a repeat offer, answered before Arrow is imported). The same rule holds:
such a process closes it before anything opens the file through ADBC.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # imported where used: `sendflow status` reads the ledger without either (cost: ~0.4 s)
    import polars as pl
    import sqlalchemy as sa

Dialect = Literal["sqlite", "postgresql"]
SQLITE_BUSY_TIMEOUT_MS = 60_000


@dataclass(frozen=True)
class Warehouse:
    url: str
    # SQLite through Python's sqlite3, for single rows only (no frames, no bulk ingest); see the docstring.
    single_rows: bool = False

    @property
    def dialect(self) -> Dialect:
        scheme = self.url.split(":", 1)[0].split("+", 1)[0]
        if scheme == "sqlite":
            return "sqlite"
        if scheme in ("postgresql", "postgres"):
            return "postgresql"
        raise ValueError(f"unsupported warehouse URL {self.url!r}: use sqlite:///path or postgresql://...")

    @property
    def sqlite_path(self) -> Path:
        return Path(self.url.removeprefix("sqlite:///"))

    @property
    def libpq_url(self) -> str:
        return f"postgresql://{self.url.split('://', 1)[1]}"

    @cached_property
    def engine(self) -> sa.Engine:
        """For migrations and DDL only (see the module docstring)."""
        import sqlalchemy as sa
        from sqlalchemy.pool import NullPool

        if self.dialect == "sqlite":
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            return sa.create_engine(
                f"sqlite:///{self.sqlite_path}",
                poolclass=NullPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            )
        return sa.create_engine(f"postgresql+psycopg://{self.url.split('://', 1)[1]}", poolclass=NullPool)

    def session(self) -> Session:
        if self.dialect == "postgresql":
            return PostgresSession(self)
        return SingleRowSqliteSession(self) if self.single_rows else SqliteSession(self)

    def param(self) -> str:
        """Placeholder for the next query parameter: both drivers take them by order, not by number."""
        return "?" if self.dialect == "sqlite" else "%s"

    def params(self, count: int) -> str:
        """`count` placeholders, comma-separated (an IN list, a VALUES row)."""
        return ", ".join(self.param() for _ in range(count))

    def timestamp(self, moment: datetime) -> Any:
        # SQLite has no timestamp type: store the ISO text SQLAlchemy and BI tools both read.
        return moment.isoformat(sep=" ") if self.dialect == "sqlite" else moment

    def describe(self) -> str:
        if self.dialect == "sqlite":
            return f"SQLite {self.sqlite_path}"
        return f"PostgreSQL {self.libpq_url.rsplit('@', 1)[-1]}"

    def read_rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """For read-only commands (`sendflow status`): rows as dicts, through Python's own sqlite3 opened
        read-only (a missing file stays missing) or psycopg, with neither Polars, Arrow nor ADBC to import.
        Never in a process that also opens the file through ADBC: two SQLite libraries with one file open
        drop each other's locks (see the module docstring)."""
        if self.dialect == "sqlite":
            import sqlite3

            reader = sqlite3.connect(
                f"{self.sqlite_path.resolve().as_uri()}?mode=ro", uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000
            )
            try:
                cursor = reader.execute(sql, list(parameters))
                names = [column[0] for column in cursor.description or []]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            finally:
                reader.close()
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(self.libpq_url, row_factory=dict_row) as connection:
            return connection.execute(sql, tuple(parameters)).fetchall()


class Session:
    """One connection, one transaction at a time; commit() or rollback(), then close()."""

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        raise NotImplementedError

    def rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple]:
        raise NotImplementedError

    def frame(self, sql: str, parameters: Sequence[Any] = ()) -> pl.DataFrame:
        raise NotImplementedError

    def ingest(self, table: sa.Table, frame: pl.DataFrame, target: str | None = None) -> None:
        """Append rows in bulk, typed exactly as `table`'s columns, into it (or into `target`, a staging
        table of the same columns)."""
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Session:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        try:
            if error is None:
                self.commit()
            else:
                self.rollback()
        finally:
            self.close()


class _OneConnection(Session):
    """A session that is one DB-API connection: its transaction is the connection's."""

    _connection: Any

    def commit(self) -> None:
        self._connection.commit()

    def rollback(self) -> None:
        self._connection.rollback()

    def close(self) -> None:
        self._connection.close()


class SqliteSession(_OneConnection):
    def __init__(self, warehouse: Warehouse) -> None:
        import adbc_driver_sqlite.dbapi as adbc_sqlite

        warehouse.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = adbc_sqlite.connect(str(warehouse.sqlite_path))
        self._cursor = self._connection.cursor()
        # ADBC's SQLite driver guesses a column's type from the first batch of a result and fails when a
        # later batch disagrees (a date NULL for the first thousand schools): one batch avoids it.
        self._cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(1 << 30)})
        self._cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        # 128 MiB of page cache (the default is 2 MiB): a national bulk load's B-tree stays in memory.
        self._cursor.execute("PRAGMA cache_size = -131072")

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        self._cursor.execute(sql, list(parameters) or None)

    def rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple]:
        self._cursor.execute(sql, list(parameters) or None)
        return self._cursor.fetchall()

    def frame(self, sql: str, parameters: Sequence[Any] = ()) -> pl.DataFrame:
        import polars as pl

        self._cursor.execute(sql, list(parameters) or None)
        result = pl.from_arrow(self._cursor.fetch_arrow_table())
        assert isinstance(result, pl.DataFrame)
        return result

    def ingest(self, table: sa.Table, frame: pl.DataFrame, target: str | None = None) -> None:
        from sendflow.warehouse.frames import to_arrow

        if frame.height:
            self._cursor.adbc_ingest(target or table.name, to_arrow(frame, table), mode="append")

    def close(self) -> None:
        self._cursor.close()
        super().close()


class SingleRowSqliteSession(_OneConnection):
    """Python's own sqlite3 (imported with the interpreter: no Arrow, no ADBC), for a few rows at a time."""

    def __init__(self, warehouse: Warehouse) -> None:
        import sqlite3

        self._connection = sqlite3.connect(warehouse.sqlite_path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        self._connection.execute(sql, list(parameters))

    def rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple]:
        return self._connection.execute(sql, list(parameters)).fetchall()

    def frame(self, sql: str, parameters: Sequence[Any] = ()) -> pl.DataFrame:
        raise TypeError("a single-rows SQLite session reads rows, not frames: use Warehouse(url) for those")

    def ingest(self, table: sa.Table, frame: pl.DataFrame, target: str | None = None) -> None:
        raise TypeError("a single-rows SQLite session does not bulk-load: use Warehouse(url) for that")


class PostgresSession(_OneConnection):
    def __init__(self, warehouse: Warehouse) -> None:
        import psycopg

        self._connection = psycopg.connect(warehouse.libpq_url)

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        self._connection.execute(sql, list(parameters) or None)

    def rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple]:
        return self._connection.execute(sql, list(parameters) or None).fetchall()

    def frame(self, sql: str, parameters: Sequence[Any] = ()) -> pl.DataFrame:
        import polars as pl

        cursor = self._connection.execute(sql, list(parameters) or None)
        names = [column.name for column in cursor.description or []]
        frame = pl.DataFrame(cursor.fetchall(), schema=names, orient="row", infer_schema_length=None)
        # SUM of BIGINT is NUMERIC in PostgreSQL: whole numbers come back as integers, others as floats.
        return frame.with_columns(
            [
                pl.col(name).cast(pl.Int64 if dtype.scale == 0 else pl.Float64)
                for name, dtype in frame.schema.items()
                if isinstance(dtype, pl.Decimal)
            ]
        )

    def ingest(self, table: sa.Table, frame: pl.DataFrame, target: str | None = None) -> None:
        """Binary COPY: measured here at ~800,000 rows/s for the pupil census, above CSV COPY."""
        from sendflow.warehouse.frames import conform

        if not frame.height:
            return
        rows = conform(frame, table)
        with (
            self._connection.cursor() as cursor,
            cursor.copy(f"COPY {target or table.name} ({', '.join(rows.columns)}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types([_postgres_type(table.c[name]) for name in rows.columns])
            for row in rows.iter_rows():
                copy.write_row(row)


def _postgres_type(column: sa.Column) -> str:
    import sqlalchemy as sa

    kind = column.type
    if isinstance(kind, sa.Boolean):
        return "boolean"
    if isinstance(kind, sa.BigInteger):
        return "bigint"
    if isinstance(kind, sa.Integer):
        return "integer"
    if isinstance(kind, sa.Double | sa.Float | sa.Numeric):
        return "double precision"
    if isinstance(kind, sa.DateTime):
        return "timestamptz"
    if isinstance(kind, sa.Date):
        return "date"
    return "text"


class WarehouseUnavailable(Exception):
    """The warehouse cannot be opened: its PostgreSQL server does not answer or refuses the login. The
    message is one line, naming the server and what it said."""


@dataclass(frozen=True)
class PostgresAddress:
    """Where a PostgreSQL URL points, as libpq reads it (the password left out: it is never shown)."""

    database: str
    host: str
    port: str
    user: str | None

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"


class DatabaseMissing(WarehouseUnavailable):
    """The PostgreSQL server answers, but holds no database of the warehouse's name."""

    def __init__(self, address: PostgresAddress) -> None:
        super().__init__(f'PostgreSQL database "{address.database}" does not exist on {address.server}')
        self.address = address


POSTGRES_CONNECT_TIMEOUT_SECONDS = 10
# Every server has it: where a database that does not exist yet is looked for and created from.
POSTGRES_MAINTENANCE_DATABASE = "postgres"


def postgres_address(warehouse: Warehouse) -> PostgresAddress:
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(warehouse.libpq_url)
    user = str(parts["user"]) if parts.get("user") else None
    # libpq's own defaults when the URL leaves them out.
    database = str(parts.get("dbname") or os.environ.get("PGDATABASE") or user or getpass.getuser())
    host = str(parts.get("host") or os.environ.get("PGHOST") or "localhost")
    return PostgresAddress(database, host, str(parts.get("port") or os.environ.get("PGPORT") or 5432), user)


def _maintenance_url(warehouse: Warehouse) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(warehouse.libpq_url, dbname=POSTGRES_MAINTENANCE_DATABASE)


def check_reachable(warehouse: Warehouse) -> None:
    """Raise DatabaseMissing or WarehouseUnavailable when a PostgreSQL warehouse cannot be opened, instead of
    the driver's traceback; SQLite always can (its file is made on first use). Connection failures carry no
    SQLSTATE, so a missing database is told apart by asking the server's maintenance database."""
    if warehouse.dialect == "sqlite":
        return
    import psycopg

    address = postgres_address(warehouse)
    try:
        psycopg.connect(warehouse.libpq_url, connect_timeout=POSTGRES_CONNECT_TIMEOUT_SECONDS).close()
        return
    except psycopg.Error as error:
        said = _first_line(error)
    try:
        with psycopg.connect(
            _maintenance_url(warehouse), connect_timeout=POSTGRES_CONNECT_TIMEOUT_SECONDS, autocommit=True
        ) as connection:
            row = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [address.database]).fetchone()
        found = row is not None
    except psycopg.Error:
        found = True  # the server itself cannot be asked: what the first attempt said is the reason
    if not found:
        raise DatabaseMissing(address)
    raise WarehouseUnavailable(f'cannot open PostgreSQL database "{address.database}" on {address.server}: {said}')


def create_database(warehouse: Warehouse) -> None:
    """CREATE DATABASE for a PostgreSQL warehouse, from the server's maintenance database (the name quoted)."""
    import psycopg
    from psycopg import sql

    address = postgres_address(warehouse)
    try:
        with psycopg.connect(
            _maintenance_url(warehouse), connect_timeout=POSTGRES_CONNECT_TIMEOUT_SECONDS, autocommit=True
        ) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(address.database)))
    except psycopg.Error as error:
        raise WarehouseUnavailable(
            f'cannot create PostgreSQL database "{address.database}" on {address.server}: {_first_line(error)}'
        ) from error


def _first_line(error: Exception) -> str:
    """libpq's message without its 'connection failed:' preamble and its hint lines."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    return text.removeprefix("connection failed: ")
