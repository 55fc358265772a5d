"""One warehouse URL, two ways in: SQLAlchemy for schema work, ADBC for bulk rows and load transactions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa

Dialect = Literal["sqlite", "postgresql"]
SQLITE_BUSY_TIMEOUT_MS = 60_000


@dataclass(frozen=True)
class Warehouse:
    url: str

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
        rest = self.url.split("://", 1)[1]
        return f"postgresql://{rest}"

    @cached_property
    def engine(self) -> sa.Engine:
        if self.dialect == "sqlite":
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(
                f"sqlite:///{self.sqlite_path}", connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
            )
            return engine
        return sa.create_engine(f"postgresql+psycopg://{self.url.split('://', 1)[1]}", pool_pre_ping=True)

    def connect(self) -> Any:
        """An ADBC DB-API connection with autocommit off: every load is one explicit transaction."""
        if self.dialect == "sqlite":
            import adbc_driver_sqlite.dbapi as adbc_sqlite

            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            connection = adbc_sqlite.connect(str(self.sqlite_path))
            cursor = connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            # 128 MiB of page cache (the default is 2 MiB): a national bulk load's B-tree stays in memory.
            cursor.execute("PRAGMA cache_size = -131072")
            cursor.close()
            return connection
        import adbc_driver_postgresql.dbapi as adbc_postgresql

        return adbc_postgresql.connect(self.libpq_url)

    def cursor(self, connection: Any) -> Any:
        """A cursor whose query results keep their types whatever the first rows hold.

        ADBC's SQLite driver guesses each column's type from the first batch of rows and fails when a
        later batch disagrees (a date column NULL for the first thousand schools); one batch avoids it.
        """
        cursor = connection.cursor()
        if self.dialect == "sqlite":
            cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(1 << 30)})
        return cursor

    def param(self, position: int) -> str:
        """Placeholder for the n-th (1-based) query parameter."""
        return "?" if self.dialect == "sqlite" else f"${position}"

    def params(self, count: int, start: int = 1) -> str:
        return ", ".join(self.param(i) for i in range(start, start + count))

    def timestamp(self, moment: datetime) -> Any:
        # SQLite has no timestamp type: store the ISO text SQLAlchemy and BI tools both read.
        return moment.isoformat(sep=" ") if self.dialect == "sqlite" else moment

    def describe(self) -> str:
        if self.dialect == "sqlite":
            return f"SQLite {self.sqlite_path}"
        return f"PostgreSQL {self.libpq_url.rsplit('@', 1)[-1]}"
