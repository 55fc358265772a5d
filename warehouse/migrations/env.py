"""Alembic environment: the warehouse's models are the target; SQLite migrates in batch mode."""

from __future__ import annotations

from alembic import context

from sendflow.warehouse import models

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=models.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
