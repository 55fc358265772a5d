"""The hand-run path with no Prefect server: the same warehouse as the served flow gives, no Prefect at all in
the process (so no server can start), and `status` answering beside a live load."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from sendflow.cli.demo import SAMPLE_DIR, SAMPLE_FILES
from sendflow.cli.local import NOT_RECORDED, ingest_here
from sendflow.core.settings import Settings
from sendflow.loading.file_load import Context, ingest_path
from sendflow.warehouse import ledger, models
from sendflow.warehouse.connection import Warehouse
from tests.conftest import PROJECT

CENSUS = SAMPLE_DIR / "england_census_2023-24.csv"
# What differs between two loads of the same files by design: when, and the ids the ledger handed out.
RUN_COLUMNS = {"load_id", "superseded_by_load_id", "started_at", "finished_at", "loaded_at", "valid_from_load_id"}


def _environment(home: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SENDFLOW_"))}
    environment.update(SENDFLOW_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    return environment


def _contents(settings: Settings) -> dict[str, pl.DataFrame]:
    """Every table's rows, sorted, without the columns that name a run rather than the data."""
    warehouse = Warehouse(settings.warehouse_url)
    contents = {}
    for name, table in models.metadata.tables.items():
        frame = ledger.read_table(warehouse, name)
        kept = [
            c.name for c in table.columns
            if c.name not in RUN_COLUMNS and not isinstance(c.type, sa.DateTime) and c.name in frame.columns
        ]  # fmt: skip
        contents[name] = frame.select(kept).sort(kept, nulls_last=True)
    return contents


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server")
def test_the_in_process_path_and_the_flow_give_the_same_warehouse(tmp_path: Path) -> None:
    from sendflow.flows.ingest import with_task_runner

    files = [str(SAMPLE_DIR / name) for name in SAMPLE_FILES]
    here = Settings(home=tmp_path / "here")
    flowed = Settings(home=tmp_path / "flowed")
    os.environ["SENDFLOW_HOME"] = str(flowed.home)  # the flow reads its settings from the environment
    try:
        by_flow = with_task_runner(flowed)(files)
    finally:
        del os.environ["SENDFLOW_HOME"]
    by_hand = ingest_here(files, None, here)

    assert [(o.status, o.dataset, o.rows_loaded) for o in by_hand] == [
        (o.status, o.dataset, o.rows_loaded) for o in by_flow
    ]
    assert all(str(o.status) == "loaded" for o in by_hand)
    mine, theirs = _contents(here), _contents(flowed)
    for table in mine:
        assert mine[table].equals(theirs[table]), table
    assert sum(frame.height for frame in mine.values()) > 10_000
    # What refresh-marts would have written after the loads' events, the hand-run path writes itself.
    assert (here.lake_dir / "gold" / "v_la_census_summary" / "data.parquet").is_file()


def test_a_hand_run_with_no_server_imports_no_prefect_and_says_so_once(tmp_path: Path) -> None:
    """No Prefect module is imported, so no server can start, and nothing of Prefect's is written."""
    home = tmp_path / "home"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sendflow.cli.main", "ingest", str(CENSUS)], cwd=tmp_path,
        env=_environment(home), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(f"{CENSUS.name}: loaded (school_census 2023/24")
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time")]
    assert imported and not [m for m in imported if m.split(".")[0] == "prefect"]
    assert [line for line in done.stderr.splitlines() if not line.startswith(("import time", "["))] == [NOT_RECORDED]
    assert not (home / "prefect").exists()


def test_a_repeat_is_answered_before_the_loader_is_imported(tmp_path: Path) -> None:
    """The same bytes again under another name: `duplicate` of the first load, told by a process that never
    imported Polars, Arrow, SQLAlchemy, ADBC or Great Expectations, and the ledger row written all the same."""
    home = tmp_path / "home"
    first = subprocess.run(
        [sys.executable, "-m", "sendflow.cli.main", "ingest", str(CENSUS)], cwd=tmp_path, env=_environment(home),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr[-2000:]
    resent = tmp_path / "resent.csv"
    resent.write_bytes(CENSUS.read_bytes())
    again = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sendflow.cli.main", "ingest", str(resent)], cwd=tmp_path,
        env=_environment(home), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout == f"resent.csv: duplicate (same bytes as load 1 ({CENSUS.name}); nothing changed)\n"
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in again.stderr.splitlines() if "|" in line}
    assert "sendflow" in imported
    assert not imported & {"polars", "pyarrow", "sqlalchemy", "adbc_driver_manager", "great_expectations", "pandas"}
    assert "[1/1] resent.csv: duplicate" in again.stderr
    rows = Warehouse(Settings(home=home).warehouse_url).read_rows("SELECT status, source_name FROM etl_load")
    assert rows == [
        {"status": "loaded", "source_name": CENSUS.name}, {"status": "duplicate", "source_name": "resent.csv"}
    ]  # fmt: skip


def test_status_answers_beside_a_live_load_and_never_writes(tmp_path: Path, real_data: Path) -> None:
    """`sendflow status` in a loop while another process publishes the real 2023-24 census into SQLite: every
    call prints the ledger as it stands, none fails, and status itself changes nothing."""
    home = tmp_path / "home"
    environment = _environment(home)
    first = subprocess.run(
        [sys.executable, "-m", "sendflow.cli.main", "ingest", str(CENSUS)], env=environment, cwd=tmp_path,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    census = real_data / "sen_school_level" / "perf_tables_england_census_2023-24.csv"
    load = subprocess.Popen(
        [sys.executable, "-m", "sendflow.cli.main", "ingest", str(census)], env=environment, cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    answers = []
    deadline = time.monotonic() + 180
    while load.poll() is None and time.monotonic() < deadline:
        status = subprocess.run(
            [sys.executable, "-m", "sendflow.cli.main", "status"], env=environment, cwd=tmp_path,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert status.returncode == 0 and "Traceback" not in status.stderr, status.stderr
        answers.append(status.stdout)
    _, err = load.communicate(timeout=180)
    assert load.returncode == 0, err
    assert len(answers) >= 2, "the load ended before status could be asked beside it"
    assert all(CENSUS.name in answer for answer in answers)
    final = subprocess.run(
        [sys.executable, "-m", "sendflow.cli.main", "status"], env=environment, cwd=tmp_path, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert census.name[:12] in final.stdout


def test_the_cli_help_is_quick_to_import() -> None:
    """`sendflow --help` needs argparse, not the pipeline: no Polars, SQLAlchemy, Great Expectations or Prefect."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "sendflow.cli.main", "--help"], cwd=PROJECT,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines()}
    assert not imported & {"polars", "sqlalchemy", "great_expectations", "prefect", "matplotlib", "psycopg"}


def test_a_repeat_by_hand_is_the_duplicate_the_loader_would_record_on_either_backend(
    backend_context: Context, tmp_path: Path
) -> None:
    """Answered before the loader (single-row SQL), on SQLite and PostgreSQL: the same ledger row the full
    offer writes for a repeat, and a file never loaded still loads in the same run."""
    settings = backend_context.settings
    first = ingest_path(CENSUS, None, backend_context)
    assert first.status == "loaded"
    copy = tmp_path / "copy" / "resent.csv"
    copy.parent.mkdir()
    copy.write_bytes(CENSUS.read_bytes())
    by_loader = ingest_path(copy, None, backend_context)  # the full offer's own answer, for comparison

    by_hand = ingest_here([str(copy), str(SAMPLE_DIR / "england_census_2018-19.csv")], None, settings)

    assert [o.status for o in by_hand] == ["duplicate", "loaded"]
    assert (by_hand[0].message, by_hand[0].dataset, by_hand[0].name) == (
        by_loader.message, by_loader.dataset, by_loader.name
    )  # fmt: skip
    rows = ledger.query(backend_context.warehouse, "SELECT * FROM etl_load ORDER BY load_id").to_dicts()
    assert [r["status"] for r in rows] == ["loaded", "duplicate", "duplicate", "loaded"]
    mine, theirs = rows[2], rows[1]
    assert {k: v for k, v in mine.items() if k not in RUN_COLUMNS} == {
        k: v for k, v in theirs.items() if k not in RUN_COLUMNS
    }
