"""Migrations, not create_all, build the schema: they must produce exactly what the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from sendflow.loading.file_load import Context
from sendflow.warehouse import migrate, models
from sendflow.warehouse.schema import current_revision


def test_migrated_schema_equals_the_models_on_both_backends(backend_context: Context) -> None:
    warehouse = backend_context.warehouse

    with warehouse.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), models.metadata)

    assert current_revision(warehouse) == migrate.head()
    assert differences == []


def test_upgrading_a_warehouse_at_head_changes_nothing(backend_context: Context) -> None:
    before = current_revision(backend_context.warehouse)

    migrate.upgrade(backend_context.warehouse)

    assert current_revision(backend_context.warehouse) == before == migrate.head()
