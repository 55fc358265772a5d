"""Times each stage of ingesting the full real 2023-24 school census (not a test: prints figures only).

make bench            # SQLite under a temporary home
SENDFLOW_BENCH_POSTGRES=postgresql://postgres@127.0.0.1:5432/postgres make bench   # also PostgreSQL
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from bench.common import CENSUS, default_postgres, timed
from sendflow.core.settings import Settings
from sendflow.expectations.runner import validate
from sendflow.intake.header import identify
from sendflow.intake.reader import read_table
from sendflow.loading.file_load import Context, ingest_path, source_info
from sendflow.registry.datasets import BY_NAME, all_layouts
from sendflow.warehouse.schema import ensure_schema


def stages(path: Path) -> None:
    print(f"Stages for {path.name}:")
    raw = timed("read (CSV -> text frame)", None, lambda: read_table(path, all_layouts()))
    rows = raw.frame.height
    found = timed("identify header", rows, lambda: identify(raw.header, all_layouts(), path.name))
    dataset = BY_NAME[found.layout.dataset]
    source = source_info(path, found.layout, None)
    table = timed("transform", rows, lambda: dataset.build(raw.frame, source)[dataset.table])
    timed("validate (GX, first call)", rows, lambda: validate(table, dataset.suite))
    timed("validate (GX, warm)", rows, lambda: validate(table, dataset.suite))


def end_to_end(path: Path, warehouse_url: str, label: str) -> None:
    with tempfile.TemporaryDirectory() as home:
        context = Context.from_settings(Settings(home=Path(home), warehouse_url=warehouse_url))
        ensure_schema(context.warehouse)
        outcome = timed(f"end to end, {label}", 24_447, lambda: ingest_path(path, None, context))
        print(f"    -> {outcome.line()}")


def main() -> None:
    if not CENSUS.exists():
        raise SystemExit(f"real data not found at {CENSUS}")
    stages(CENSUS)
    print("End to end (hash, bronze, read, transform, validate, publish SQL + Parquet):")
    end_to_end(CENSUS, "", "SQLite")
    admin = default_postgres()
    if admin:
        import psycopg

        name = f"sendflow_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        try:
            end_to_end(CENSUS, f"{admin.rsplit('/', 1)[0]}/{name}", "PostgreSQL")
        finally:
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
