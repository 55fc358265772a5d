"""Trust-scoped login roles for BI tools on PostgreSQL (row-level security is set up by migration 0002)."""

from __future__ import annotations

import re

from psycopg import sql

from sendflow.warehouse import models
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.ledger import now
from sendflow.warehouse.views import VIEWS

# Quarantine records are pupil rows held back whole: not for BI roles at all.
NOT_FOR_BI = frozenset({"etl_quarantine", "alembic_version"})
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class AccessError(ValueError):
    """The request cannot be granted as asked (bad role name, unknown trust, not PostgreSQL)."""


def grant_trust(warehouse: Warehouse, trust_id: str, role: str, password: str | None = None) -> list[str]:
    """Create or update `role`: a login that reads the published tables and views, and of the pupil-level
    rows only those of `trust_id`'s schools. It owns nothing and cannot bypass row-level security.
    Returns the relations it may read."""
    if warehouse.dialect != "postgresql":
        raise AccessError("trust-scoped roles need PostgreSQL: SQLite has no roles (its file is all or nothing)")
    if not _ROLE_NAME.match(role):
        raise AccessError(f"role names are lower-case letters, digits and underscores: {role!r}")
    import psycopg

    with psycopg.connect(warehouse.libpq_url) as connection:
        known = connection.execute("SELECT 1 FROM dim_trust WHERE trust_id = %s", [trust_id]).fetchone()
        if known is None:
            raise AccessError(f"no trust {trust_id} in dim_trust: load the school register or group links first")
        name = sql.Identifier(role)
        exists = connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
        flags = sql.SQL("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS")
        verb = sql.SQL("ALTER ROLE" if exists else "CREATE ROLE")
        connection.execute(sql.SQL("{} {} WITH {}").format(verb, name, flags))
        if password is not None:
            connection.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(name, sql.Literal(password)))
        database = connection.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        connection.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), name))
        connection.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(name))
        readable = [t for t in models.metadata.tables if t not in NOT_FOR_BI]
        present = {r[0] for r in connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()}  # fmt: skip
        readable += [view.name for view in VIEWS if view.name in present]
        for relation in readable:
            connection.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier(relation), name))
        connection.execute(
            "INSERT INTO trust_access_role (role_name, trust_id, granted_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (role_name) DO UPDATE SET trust_id = EXCLUDED.trust_id, granted_at = EXCLUDED.granted_at",
            [role, trust_id, now()],
        )
    return sorted(readable)
