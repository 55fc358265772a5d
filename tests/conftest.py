"""Shared fixtures: an isolated sendflow home per test, real-data and PostgreSQL gates, one Prefect server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sendflow.core.settings import Settings
from sendflow.loading.file_load import Context
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.schema import ensure_schema

PROJECT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = PROJECT / "data" / "sample"
# An invented trust of seven real sample schools (a file in GIAS's all-group-links layout, written for the tests):
# the report tests' trust, with 2023/24 membership and synthetic 2023/24 returns. Not a DfE publication.
INVENTED_TRUST_FILE = PROJECT / "tests" / "fixtures" / "invented_trust_allgroupslinksdata20240901.csv"
INVENTED_TRUST_ID = "900001"
REAL_DATA = Path(os.environ.get("SENDFLOW_REAL_DATA", PROJECT.parent / "shared" / "data" / "real"))
CONTRACT = PROJECT.parent / "shared" / "design" / "warehouse-contract.md"
POSTGRES_ADMIN_URL = os.environ.get("SENDFLOW_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _required(variable: str) -> bool:
    return os.environ.get(variable, "") not in ("", "0", "false")


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The full real DfE files; absent -> skip, unless REQUIRE_REAL_DATA=1 makes that a failure."""
    if not (REAL_DATA / "SOURCES.md").exists():
        if _required("REQUIRE_REAL_DATA"):
            pytest.fail(f"REQUIRE_REAL_DATA=1 but the real data folder {REAL_DATA} is missing")
        pytest.skip(f"real data folder {REAL_DATA} is absent")
    return REAL_DATA


def _make_settings(home: Path, warehouse_url: str = "") -> Settings:
    return Settings(home=home, warehouse_url=warehouse_url)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return _make_settings(tmp_path / "home")


@pytest.fixture
def context(settings: Settings) -> Context:
    ctx = Context.from_settings(settings)
    ensure_schema(ctx.warehouse)
    return ctx


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """Admin URL of the local PostgreSQL server; absent -> skip, unless REQUIRE_POSTGRES=1."""
    import psycopg

    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3, autocommit=True) as connection:
            connection.execute("SELECT 1")
    except psycopg.OperationalError as error:
        if _required("REQUIRE_POSTGRES"):
            pytest.fail(f"REQUIRE_POSTGRES=1 but PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable: {error}")
        pytest.skip(f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable: {error}")
    return POSTGRES_ADMIN_URL


@pytest.fixture(scope="session")
def postgres_database(postgres_server: str) -> Iterator[str]:
    """A database of this test session's own, dropped afterwards."""
    import psycopg

    name = f"sendflow_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base = postgres_server.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(postgres_server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _reset_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_context(request: pytest.FixtureRequest, tmp_path: Path) -> Context:
    """The same test on the embedded default and on PostgreSQL (emptied before each test)."""
    url = ""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_database")
        _reset_postgres(url)
    ctx = Context.from_settings(_make_settings(tmp_path / "home", url))
    ensure_schema(ctx.warehouse)
    return ctx


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One Prefect test server for the whole session (starting one costs ~17 s)."""
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def sendflow_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point the settings object the flows and CLI read at this test's home."""
    monkeypatch.setenv("SENDFLOW_HOME", str(settings.home))
    monkeypatch.delenv("SENDFLOW_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("SENDFLOW_LAKE_DIR", raising=False)
    monkeypatch.delenv("SENDFLOW_LANDING_DIR", raising=False)
    return settings


def count_rows(warehouse: Warehouse, table: str, where: str = "") -> int:
    from sendflow.warehouse.ledger import query

    return int(query(warehouse, f"SELECT COUNT(*) AS n FROM {table} {where}")["n"][0])
