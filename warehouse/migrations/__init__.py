"""Schema migrations (Alembic). `sendflow db upgrade` brings a warehouse to head; see warehouse/migrate.py."""
