"""Breaking the loader on purpose: killed while staging or while publishing, and two loaders at once.

The loader runs in a child process (the same `ingest_path` the CLI runs) and is stopped by SIGKILL at a
named fault point (warehouse/faults.py): nothing runs after it, no handler, no cleanup.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from sendflow.core.settings import Settings
from sendflow.loading.file_load import Context, ingest_path
from sendflow.warehouse import ledger
from sendflow.warehouse.schema import ensure_schema
from tests.conftest import PROJECT, SAMPLE_DIR, _reset_postgres

BASELINE = [SAMPLE_DIR / "england_school_information_2023-24.csv", SAMPLE_DIR / "england_census_2018-19.csv"]
OFFERED = SAMPLE_DIR / "england_census_2023-24.csv"
PUBLISHED = ["fct_school_census", "dim_school", "dim_trust", "school_register_snapshot"]

CHILD = """
import sys
from pathlib import Path
from sendflow.loading.file_load import Context, ingest_path
from sendflow.core.settings import Settings
context = Context.from_settings(Settings(home=Path(sys.argv[1]), warehouse_url=sys.argv[2]))
outcome = ingest_path(Path(sys.argv[3]), None, context)
print(outcome.status)
"""


def _context(home: Path, url: str) -> Context:
    context = Context.from_settings(Settings(home=home, warehouse_url=url))
    ensure_schema(context.warehouse)
    return context


BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Context:
    url = ""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_database")
        _reset_postgres(url)
    context = _context(tmp_path / "home", url)
    for path in BASELINE:
        assert ingest_path(path, None, context).status == "loaded"
    return context


def _loader(
    context: Context, path: Path, fault: str | None, marker: Path, pause: float | None = None
) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    env.pop("SENDFLOW_FAULT_AT", None)
    if fault:
        env |= {"SENDFLOW_FAULT_AT": fault, "SENDFLOW_FAULT_MARKER": str(marker)}
    if pause is not None:
        env["SENDFLOW_FAULT_PAUSE"] = str(pause)
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(context.settings.home), context.settings.warehouse_url, str(path)],
        cwd=PROJECT, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for(marker: Path, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        assert process.poll() is None, "the loader ended before reaching its fault point"
        assert time.monotonic() < deadline, "the loader never reached its fault point"
        time.sleep(0.05)


def _state(context: Context) -> dict[str, pl.DataFrame]:
    """Published tables, row for row, without the load ids (a rerun's are new)."""
    state = {}
    for name in PUBLISHED:
        frame = ledger.read_table(context.warehouse, name).drop("load_id", strict=False)
        state[name] = frame.sort(frame.columns)
    return state


def _lake(context: Context) -> dict[str, pl.DataFrame]:
    frames = {}
    for table_dir in sorted(p for p in context.lake.silver.iterdir() if p.is_dir()):
        files = sorted(table_dir.rglob("*.parquet"))
        if files:
            frame = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed").drop("load_id")
            frames[table_dir.name] = frame.sort(frame.columns)
    return frames


def _assert_untouched_and_rerunnable(context: Context, before: dict[str, pl.DataFrame], tmp_path: Path) -> None:
    assert all(_state(context)[name].equals(before[name]) for name in PUBLISHED)
    loaded = ledger.query(context.warehouse, "SELECT * FROM etl_load WHERE source_name = 'england_census_2023-24.csv'")
    assert loaded.is_empty(), "a killed load leaves no ledger row at all, let alone 'loaded'"

    rerun = ingest_path(OFFERED, None, context)

    assert rerun.status == "loaded", rerun.message
    reference = _context(tmp_path / "reference", "")
    for path in [*BASELINE, OFFERED]:
        assert ingest_path(path, None, reference).status == "loaded"
    expected = _state(reference)
    got = _state(context)
    for name in PUBLISHED:
        assert got[name].equals(expected[name]), name
    lake, expected_lake = _lake(context), _lake(reference)
    assert lake.keys() == expected_lake.keys()
    assert all(lake[name].equals(expected_lake[name]) for name in lake)


# SQLite loads straight into its one transaction, so it has no separate staging step to die in.
@pytest.mark.parametrize(
    ("backend", "fault"), [("sqlite", "publish"), ("postgresql", "staging"), ("postgresql", "publish")],
    indirect=["backend"],
)  # fmt: skip
def test_a_loader_killed_midway_changes_nothing_and_a_rerun_completes(
    backend: Context, fault: str, tmp_path: Path
) -> None:
    before = _state(backend)
    marker = tmp_path / "marker"
    loader = _loader(backend, OFFERED, fault, marker)
    _wait_for(marker, loader)

    loader.send_signal(signal.SIGKILL)
    loader.wait(timeout=30)

    assert loader.returncode == -signal.SIGKILL
    if backend.warehouse.dialect == "postgresql":
        leftovers = ledger.query(backend.warehouse, "SELECT relname FROM pg_class WHERE relname LIKE 'stage_%'")
        assert leftovers.is_empty(), "staging tables die with the killed session"
    _assert_untouched_and_rerunnable(backend, before, tmp_path)


def test_two_loaders_of_the_same_file_at_once_load_it_exactly_once(backend: Context, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    first = _loader(backend, OFFERED, "publish", marker, pause=4)
    _wait_for(marker, first)  # the first is inside its publish transaction, holding its claim
    second = _loader(backend, OFFERED, None, tmp_path / "unused")

    outcomes = sorted(process.communicate(timeout=120)[0].strip() for process in (first, second))

    assert outcomes == ["duplicate", "loaded"]
    statuses = ledger.query(
        backend.warehouse, "SELECT status FROM etl_load WHERE source_name = 'england_census_2023-24.csv'"
    )
    assert sorted(statuses["status"]) == ["duplicate", "loaded"]
