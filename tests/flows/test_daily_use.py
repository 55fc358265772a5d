"""Daily use under a real Prefect server: nothing left stranded in processing/, the same bytes offered twice
are a duplicate of the first whatever the second is called, and a hand-run pull with no service to hear
it loads what it fetched."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from sendflow.core.files import sha256_of
from sendflow.core.settings import Settings
from sendflow.flows.ingest import with_task_runner
from sendflow.loading.file_load import Context, ingest_path
from sendflow.loading.offers import being_offered, later_copies
from sendflow.loading.outcomes import FileOutcome
from sendflow.warehouse import ledger
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.schema import ensure_schema
from tests.conftest import SAMPLE_DIR
from tests.http_source import http_source

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_server")]

CENSUS = SAMPLE_DIR / "england_census_2023-24.csv"
CENSUS_1819 = SAMPLE_DIR / "england_census_2018-19.csv"
LINKS = SAMPLE_DIR / "walkthrough" / "links_edubasealldata20250422.csv"


def _loads(settings: Settings) -> list[tuple[int, str, str]]:
    frame = ledger.query(
        Warehouse(settings.warehouse_url), "SELECT load_id, status, source_name FROM etl_load ORDER BY load_id"
    )
    return [(int(i), str(s), str(n)) for i, s, n in frame.rows()]


def test_a_renamed_copy_in_the_same_run_is_the_duplicate_of_the_first_whatever_its_name(
    sendflow_env: Settings, tmp_path: Path
) -> None:
    """`resent.csv` names no year: offered beside the original it was once rejected for that, because the two
    ran side by side. Now it waits for the original's outcome, and is its duplicate."""
    resent = Path(shutil.copyfile(CENSUS, tmp_path / "resent.csv"))
    notes = tmp_path / "notes.csv"
    notes.write_text("what,why\nlunch,hungry\n")
    assert later_copies([CENSUS, resent, notes]) == {1}

    outcomes = with_task_runner(sendflow_env)([str(CENSUS), str(resent), str(notes)])

    assert [str(o.status) for o in outcomes] == ["loaded", "duplicate", "rejected"]
    assert outcomes[1].message.startswith(f"same bytes as load {outcomes[0].load_id} ({CENSUS.name})")


def test_the_same_bytes_offered_at_once_wait_for_the_first_offer(settings: Settings, tmp_path: Path) -> None:
    """Two offers at the same moment from two threads (as from two processes): the second, whose name gives no
    year, waits while the first is offered and is then its duplicate, not a rejection."""
    context = Context.from_settings(settings)
    ensure_schema(context.warehouse)
    resent = Path(shutil.copyfile(CENSUS, tmp_path / "resent.csv"))
    sha = sha256_of(CENSUS)
    outcomes: dict[str, FileOutcome] = {}
    first = threading.Thread(target=lambda: outcomes.update(first=ingest_path(CENSUS, None, context)))
    first.start()
    deadline = time.monotonic() + 30
    while not being_offered(settings.home, sha) and first.is_alive() and time.monotonic() < deadline:
        time.sleep(0.002)
    assert first.is_alive(), "the first offer ended before the second could be made beside it"
    second = threading.Thread(target=lambda: outcomes.update(second=ingest_path(resent, None, context)))
    second.start()
    first.join()
    second.join()

    assert str(outcomes["first"].status) == "loaded"
    assert str(outcomes["second"].status) == "duplicate", outcomes["second"].message
    assert not being_offered(settings.home, sha)


def test_files_left_in_processing_are_taken_over_cleared_or_left_by_their_ledger_rows(
    sendflow_env: Settings,
) -> None:
    """What a loader killed before publishing leaves behind is loaded by the next watcher; a copy whose bytes
    were loaded (killed before clearing it) is cleared; a file whose load failed is left, and said so once."""
    from sendflow.flows.watch import delivery_for, watch

    settings = sendflow_env.model_copy(update={"watch_settle_seconds": 0, "watch_interval_seconds": 0.1})
    processing = settings.landing_dir / "processing"
    processing.mkdir(parents=True)
    loaded_before = with_task_runner(settings)([str(CENSUS_1819)])[0]
    assert str(loaded_before.status) == "loaded"
    stranded = Path(shutil.copyfile(CENSUS, processing / CENSUS.name))
    cleared = Path(shutil.copyfile(CENSUS_1819, processing / "census_copy_2018-19.csv"))
    lines: list[str] = []

    watch(settings, delivery_for("inline"), threading.Event(), once=True, report=lines.append)

    assert any(line.startswith(f"took over processing/{CENSUS.name} (left with no outcome)") for line in lines), lines
    assert any(
        line.startswith(f"cleared processing/{cleared.name}: its bytes are load {loaded_before.load_id}")
        for line in lines
    ), lines
    assert not stranded.exists() and not cleared.exists()
    rows = [row for row in _loads(settings) if row[2] == CENSUS.name]
    assert [row[1] for row in rows] == ["loaded"]

    # Taken over once: a second watcher finds nothing left to do.
    again: list[str] = []
    watch(settings, delivery_for("inline"), threading.Event(), once=True, report=again.append)
    assert not any(line.startswith(("took over", "cleared")) for line in again), again
    assert [row for row in _loads(settings) if row[2] == CENSUS.name] == rows


def test_a_hand_run_pull_with_no_service_loads_what_it_fetched(
    sendflow_env: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No `sendflow serve` and no PREFECT_API_URL: an announcement would go unheard and strand the file, so
    the pull loads it itself; a backfill of an older day is fetched and loaded too."""
    from sendflow.cli.main import main

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    newer = LINKS.read_bytes()
    older = b"".join(newer.splitlines(keepends=True)[:-1])  # an older extract: one link fewer
    with http_source() as gias:
        gias.put("/links_edubasealldata20250422.csv", newer)
        gias.put("/links_edubasealldata20230421.csv", older)
        monkeypatch.setenv("SENDFLOW_GIAS_BASE_URL", gias.base_url)
        monkeypatch.setenv("SENDFLOW_GIAS_FILES", '["links_edubasealldata{date}.csv"]')
        assert main(["pull", "gias", "--day", "2025-04-22"]) == 0
        assert main(["pull", "gias", "--day", "2023-04-21"]) == 0
    out = capsys.readouterr().out
    assert "links_edubasealldata20250422.csv: loaded (school_links 2025-04-22" in out, out
    assert "links_edubasealldata20230421.csv: loaded (school_links 2023-04-21" in out, out
    assert [row[1] for row in _loads(sendflow_env)] == ["loaded", "loaded"]
    assert not [p for p in (sendflow_env.landing_dir / "processing").rglob("*") if p.is_file()]
    assert os.environ.get("PREFECT_API_URL") is None
