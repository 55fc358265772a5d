"""The warehouse carries the contract's public names on both backends, and its reference rows."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from sendflow.loading.file_load import Context
from sendflow.warehouse import ledger, models
from sendflow.warehouse.reference import la_successors, local_authorities
from sendflow.warehouse.schema import ensure_schema, existing_tables
from tests.conftest import CONTRACT, count_rows

# The contract tables this release implements; the others arrive with later datasets.
IMPLEMENTED = {"dim_local_authority", "dim_school", "dim_trust", "fct_school_census", "etl_load", "etl_quarantine"}


def contract_tables() -> dict[str, set[str]]:
    """Table or view name -> required columns, read from the contract's markdown tables."""
    if not CONTRACT.exists():
        if os.environ.get("REQUIRE_REAL_DATA", "") not in ("", "0", "false"):
            pytest.fail(f"REQUIRE_REAL_DATA=1 but the warehouse contract {CONTRACT} (in ../shared) is missing")
        pytest.skip(f"the warehouse contract {CONTRACT} is absent")
    tables: dict[str, set[str]] = {}
    for line in CONTRACT.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"`\w+`", cells[0]):
            columns = set(re.findall(r"`(\w+)`", cells[2]))
            tables[cells[0].strip("`")] = {c for c in columns if "<" not in c}
    return tables


def test_models_carry_every_required_contract_column() -> None:
    contract = contract_tables()
    assert set(contract) >= IMPLEMENTED
    for name in IMPLEMENTED:
        columns = set(models.metadata.tables[name].columns.keys())
        missing = contract[name] - columns - {"ehc_primary_need_", "sen_support_primary_need_"}
        assert not missing, f"{name} lacks {sorted(missing)}"


def test_primary_need_columns_follow_the_contract_codes() -> None:
    codes = ["asd", "hi", "mld", "msi", "nsa", "oth", "pd", "pmld", "semh", "slcn", "sld", "spld", "vi"]
    columns = set(models.metadata.tables["fct_school_census"].columns.keys())
    for prefix in ("ehc_primary_need_", "sen_support_primary_need_"):
        assert {prefix + code for code in codes} <= columns


def test_every_column_has_a_description() -> None:
    undocumented = [f"{t.name}.{c.name}" for t in models.metadata.tables.values() for c in t.columns if not c.comment]
    assert not undocumented


def test_schema_exists_on_both_backends_and_seeding_is_idempotent(backend_context: Context) -> None:
    warehouse = backend_context.warehouse
    ensure_schema(warehouse)  # a second run must change nothing

    with warehouse.session() as session:
        present = existing_tables(session, warehouse)
    assert set(models.metadata.tables) <= present
    assert {"v_la_census_summary", "v_national_census_summary"} <= present
    assert count_rows(warehouse, "dim_local_authority") == local_authorities().height
    assert count_rows(warehouse, "la_successor") == la_successors().height


def test_a_second_start_writes_nothing_on_sqlite(context: Context) -> None:
    """Every flow run starts with ensure_schema: on SQLite a rewrite of the views there is a schema write, which
    fails ('database is locked') beside a concurrent flow's. Once the schema is current it must write nothing:
    neither the schema (schema_version) nor any row (data_version moves when another connection commits). Read
    through the warehouse's own driver: two SQLite libraries in one process do not see each other's commits."""
    warehouse = context.warehouse

    def schema_version() -> int:
        with warehouse.session() as session:
            return int(session.rows("PRAGMA schema_version")[0][0])

    watcher = warehouse.session()

    def data_version() -> int:
        version = int(watcher.rows("PRAGMA data_version")[0][0])
        watcher.rollback()  # end the read, or the next one sees the same snapshot
        return version

    try:
        before = (schema_version(), data_version())
        ensure_schema(warehouse)
        assert (schema_version(), data_version()) == before
        with warehouse.session() as session:  # the check can fail: a re-seed is a write it sees
            session.execute("DELETE FROM la_successor")
        ensure_schema(warehouse)
        assert data_version() != before[1]
    finally:
        watcher.close()


def test_reorganised_authorities_point_at_their_successors(context: Context) -> None:
    rows = ledger.query(
        context.warehouse,
        "SELECT la_code, successor_la_code FROM dim_local_authority WHERE successor_la_code IS NOT NULL",
    )
    successors = dict(rows.rows())
    assert successors["835"] == "838"  # Dorset county -> Dorset unitary
    assert successors["836"] == successors["837"] == "839"  # Poole and Bournemouth -> BCP
    assert successors["928"] == "940,941"  # Northamptonshire split
    assert successors["909"] == "942,943"  # Cumbria split
    split = ledger.query(context.warehouse, "SELECT successor_la_code FROM la_successor WHERE la_code = '909'")
    assert sorted(split["successor_la_code"]) == ["942", "943"]


def test_every_table_view_and_column_is_described_in_postgresql(postgres_database: str, tmp_path: Path) -> None:
    from sendflow.core.settings import Settings
    from tests.conftest import _reset_postgres

    _reset_postgres(postgres_database)
    context = Context.from_settings(Settings(home=tmp_path / "pg", warehouse_url=postgres_database))
    ensure_schema(context.warehouse)

    missing = ledger.query(
        context.warehouse,
        "SELECT c.relname, a.attname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v') AND c.relname <> 'alembic_version' "
        "AND (obj_description(c.oid, 'pg_class') IS NULL OR col_description(c.oid, a.attnum) IS NULL)",
    )

    assert missing.rows() == []
    described = ledger.query(context.warehouse, "SELECT COUNT(*) AS n FROM pg_class WHERE relkind = 'v' "
                             "AND relnamespace = 'public'::regnamespace")["n"][0]  # fmt: skip
    assert described >= 5
