"""Schema migrations with Alembic, on either backend, driven from code (no alembic.ini to find)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from sendflow.warehouse.connection import Warehouse

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK_KEY = 7_310_441


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head() -> str:
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


def upgrade(warehouse: Warehouse) -> None:
    """Bring the schema to head. On SQLite this briefly opens the file through SQLAlchemy: nothing in
    this process may hold it open through ADBC meanwhile (see warehouse/connection.py)."""
    config = _config()
    with warehouse.engine.begin() as connection:
        if warehouse.dialect == "postgresql":  # two processes starting at once migrate one after the other
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def revision(warehouse: Warehouse, message: str) -> None:
    """Autogenerate a migration from the models' difference with a warehouse at head (developers only)."""
    config = _config()
    with warehouse.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
