"""End to end, as a user runs it: `sendflow serve` starts a real Prefect server on 127.0.0.1 and serves the
deployments; files copied into the landing folder are loaded, refused or recognised with no other action,
and each load triggers refresh-marts. Then SIGTERM stops it all."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from sendflow.warehouse import ledger
from sendflow.warehouse.connection import Warehouse
from tests.conftest import PROJECT, SAMPLE_DIR
from tests.http_source import Source, http_source

pytestmark = [pytest.mark.service, pytest.mark.prefect]

CENSUS = SAMPLE_DIR / "england_census_2023-24.csv"
PULLED_TEMPLATE = "england_census_2018-19_{date}.csv"
LOAD_DEADLINE_SECONDS = 120
KEY_REPORT = "ingest-school-census-report"


def _wait_for(what: str, check: Callable[[], Any], timeout: float, service: subprocess.Popen[str] | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service is not None and service.poll() is not None:
            pytest.fail(f"sendflow serve exited with {service.returncode} while waiting for {what}")
        result = check()
        if result:
            return result
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


class Running:
    def __init__(self, home: Path, process: subprocess.Popen[str], output: Path, gias: Source) -> None:
        self.home, self.process, self.output, self.gias = home, process, output, gias
        self.warehouse = Warehouse(f"sqlite:///{home / 'warehouse.sqlite'}")
        self.landing = home / "landing"

    def text(self) -> str:
        return self.output.read_text()

    @property
    def api_url(self) -> str:
        found = re.search(r"started a Prefect server at (\S+)", self.text())
        assert found, self.text()
        return found.group(1)

    def loads(self) -> list[dict[str, Any]]:
        if not (self.home / "warehouse.sqlite").exists():
            return []
        try:
            return ledger.query(self.warehouse, "SELECT * FROM etl_load ORDER BY load_id").to_dicts()
        except Exception:  # the schema is being created by the first run
            return []


@pytest.fixture
def gias() -> Iterator[Source]:
    """GIAS, played by a local server: its daily file is the 2018-19 census under a dated name."""
    with http_source() as source:
        yield source


def _environment(home: Path, gias: Source) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SENDFLOW_"))}
    environment.update(
        SENDFLOW_HOME=str(home),
        SENDFLOW_SERVE_PORT="0",
        SENDFLOW_WATCH_INTERVAL_SECONDS="0.5",
        SENDFLOW_WATCH_SETTLE_SECONDS="1",
        SENDFLOW_ARCHIVE_MAX_EXPANDED_BYTES=str(50 * 1024 * 1024),
        SENDFLOW_GIAS_BASE_URL=gias.base_url,
        SENDFLOW_GIAS_FILES=json.dumps([PULLED_TEMPLATE]),
        PREFECT_HOME=str(home / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
    )
    return environment


@contextmanager
def _serving(home: Path, output: Path, gias: Source, children_too: bool = True) -> Iterator[Running]:
    """`sendflow serve` as a user starts it, until it says it is serving; killed outright at the end, with the
    children it names in serve.json unless told to leave them (as a crash would)."""
    with open(output, "w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "sendflow.cli.main", "serve"], cwd=PROJECT, env=_environment(home, gias),
            stdout=sink, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
    running = Running(home, process, output, gias)
    try:
        _wait_for("the service to start", lambda: "sendflow is serving" in running.text(), 180, process)
        yield running
    finally:
        recorded = (home / "serve.json").exists() and children_too
        children = json.loads((home / "serve.json").read_text())["children"] if recorded else []
        for pid in [process.pid, *children]:  # each child leads its own process group
            with suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        process.wait()


@pytest.fixture
def service(tmp_path: Path, gias: Source) -> Iterator[Running]:
    home = tmp_path / "home"
    home.mkdir()
    with _serving(home, tmp_path / "serve.out", gias) as running:
        yield running


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


def _run_states_once_completed(api_url: str) -> list[str]:
    states = sorted(run.state_type.value for run in _flow_runs(api_url, "ingest-extract") if run.state_type)
    return states if "COMPLETED" in states else []


def _flow_runs(api_url: str, flow_name: str) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        return client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])))


def _zip_bomb(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for number in range(8):
            archive.writestr(f"census_part{number}.csv", bytes(32 * 1024 * 1024))  # 256 MiB of zeros in all
    return path


def test_files_landing_are_loaded_refused_or_recognised_and_loads_refresh_the_marts(
    service: Running, tmp_path: Path
) -> None:
    started = time.monotonic()
    shutil.copyfile(CENSUS, service.landing / CENSUS.name)
    loaded = _wait_for(
        "the census to load", lambda: [r for r in service.loads() if r["status"] == "loaded"], LOAD_DEADLINE_SECONDS,
        service.process,
    )  # fmt: skip
    took = time.monotonic() - started
    assert took < LOAD_DEADLINE_SECONDS
    assert loaded[0]["dataset"] == "school_census" and loaded[0]["source_name"] == CENSUS.name
    print(f"\nloaded {took:.1f} s after landing")

    shutil.copyfile(CENSUS, service.landing / "census_resent.csv")
    duplicate = _wait_for(
        "the renamed copy to be recognised",
        lambda: [r for r in service.loads() if r["source_name"] == "census_resent.csv"], 90, service.process,
    )  # fmt: skip
    assert duplicate[0]["status"] == "duplicate" and "same bytes as load" in duplicate[0]["message"]

    outside = tmp_path / "outside.csv"
    shutil.copyfile(CENSUS, outside)
    (service.landing / "linked.csv").symlink_to(outside)
    bomb = _zip_bomb(tmp_path / "bomb.zip")
    assert bomb.stat().st_size < 1024 * 1024
    shutil.copyfile(bomb, service.landing / "returns.zip")
    rejected = service.landing / "rejected"
    _wait_for(
        "both unsafe files to be refused",
        lambda: (rejected / "linked.csv.reason.txt").exists() and (rejected / "returns.zip.reason.txt").exists(),
        30, service.process,
    )  # fmt: skip
    assert (rejected / "linked.csv").is_symlink()
    assert "symbolic link" in (rejected / "linked.csv.reason.txt").read_text()
    assert "zip bomb" in (rejected / "returns.zip.reason.txt").read_text()
    assert not list((service.landing / "processing").rglob("census_part*"))
    time.sleep(3)  # anything wrongly announced would have been picked up by now
    assert [(r["status"], r["source_name"]) for r in service.loads()] == [
        ("loaded", CENSUS.name), ("duplicate", "census_resent.csv"),
    ]  # fmt: skip
    assert outside.read_bytes() == CENSUS.read_bytes()

    refreshed = _wait_for(
        "refresh-marts to run after the load",
        lambda: [r for r in _flow_runs(service.api_url, "refresh-marts") if r.state and r.state.is_completed()],
        90, service.process,
    )  # fmt: skip
    assert refreshed[0].parameters["dataset"] == "school_census"
    assert refreshed[0].parameters["load_id"] == loaded[0]["load_id"]
    gold = pl.read_parquet(service.home / "lake" / "gold" / "v_la_census_summary" / "data.parquet")
    view = ledger.query(service.warehouse, "SELECT * FROM v_la_census_summary")
    assert gold.height == view.height > 0
    assert not (service.home / "lake" / "gold" / "v_la_send_funding_gap").exists()  # reads no census table
    runs = _flow_runs(service.api_url, "ingest-extract")
    [run] = [r for r in runs if r.parameters.get("path", "").endswith(CENSUS.name)]
    assert run.parameters["sha256"] == loaded[0]["source_sha256"]

    _each_outcome_is_told_in_the_terminal_and_the_serving_log(service, loaded[0], duplicate[0])
    _run_records_link_pages_the_browser_can_open(service)
    _a_scheduled_pull_lands_announces_and_loads_once(service)
    _a_hand_run_pull_hands_its_file_to_the_service(service)
    _a_hand_run_ingest_is_a_run_of_the_service(service)

    os.killpg(service.process.pid, signal.SIGTERM)
    assert service.process.wait(timeout=90) == 0
    text = service.text()
    steps = ("stopped the watcher", "stopped the serving process", "stopped the Prefect server")
    order = [text.index(step) for step in steps]
    assert order == sorted(order), text
    assert "sendflow serve stopped" in text


def _a_scheduled_pull_lands_announces_and_loads_once(service: Running) -> None:
    """pull-gias run as its schedule would run it; the second run finds nothing new."""
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    service.gias.put("/england_census_2018-19_20261129.csv", (SAMPLE_DIR / "england_census_2018-19.csv").read_bytes())
    with temporary_settings({PREFECT_API_URL: service.api_url}):
        first = run_deployment("pull-gias/pull-gias", parameters={"day": "2026-11-29"}, timeout=120)
        pulled = _wait_for(
            "the pulled file to load",
            lambda: [r for r in service.loads() if r["source_name"] == "england_census_2018-19_20261129.csv"],
            LOAD_DEADLINE_SECONDS, service.process,
        )  # fmt: skip
        second = run_deployment("pull-gias/pull-gias", parameters={"day": "2026-11-29"}, timeout=120)
    assert first.state.is_completed() and second.state.is_completed()  # type: ignore[union-attr]
    assert pulled[0]["status"] == "loaded" and pulled[0]["partition_values"].startswith("2018/19")
    assert service.gias.requests[-1][1].get("If-None-Match")  # the second pull asked conditionally
    time.sleep(5)
    assert sum(1 for r in service.loads() if r["source_name"].startswith("england_census_2018-19")) == 1


def _each_outcome_is_told_in_the_terminal_and_the_serving_log(
    service: Running, loaded: dict[str, Any], duplicate: dict[str, Any]
) -> None:
    told = _wait_for(
        "the outcomes in the terminal",
        lambda: f"load {duplicate['load_id']}: census_resent.csv: duplicate (" in service.text(), 30, service.process,
    )  # fmt: skip
    assert told
    assert f"load {loaded['load_id']}: {CENSUS.name}: loaded {loaded['rows_loaded']:,} rows (0 quarantined)" in (
        service.text()
    )
    serving_log = service.home / "prefect-serve.log"
    _wait_for(
        "the served run's outcome in the serving log",
        lambda: f"{CENSUS.name}: loaded (school_census 2023/24" in serving_log.read_text(errors="replace"), 30,
    )  # fmt: skip


def _run_records_link_pages_the_browser_can_open(service: Running) -> None:
    """Data Docs pages are linked over HTTP from the service's own file server, never as file:// URLs."""
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: service.api_url}), get_client(sync_client=True) as client:
        pages = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[KEY_REPORT])))
    markdown = "\n".join(str(page.data) for page in pages)
    assert "file://" not in markdown
    links = re.findall(r"\((http://127\.0\.0\.1:[0-9]+/[^)]+)\)", markdown)
    assert links, markdown
    for link in links:
        page = httpx.get(link, timeout=10)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"], link
    served = json.loads((service.home / "serve.json").read_text())
    assert links[0].startswith(served["files_url"])
    assert httpx.get(served["files_url"] + "../pupil.key", timeout=10).status_code in (403, 404)


def _a_hand_run_pull_hands_its_file_to_the_service(service: Running) -> None:
    """`sendflow pull` by hand finds the running service of its home and announces there, where the served
    ingest-extract hears it: the file is loaded by the service, once, and nothing is left in processing/."""
    older = b"".join((SAMPLE_DIR / "england_census_2018-19.csv").read_bytes().splitlines(keepends=True)[:-1])
    service.gias.put("/england_census_2018-19_20261128.csv", older)
    environment = _environment(service.home, service.gias)
    done = subprocess.run(
        [sys.executable, "-m", "sendflow.cli.main", "pull", "gias", "--day", "2026-11-28"], cwd=PROJECT,
        env=environment, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "using the running sendflow serve" in done.stderr
    assert "england_census_2018-19: new" in done.stdout or ": new (" in done.stdout, done.stdout
    name = "england_census_2018-19_20261128.csv"
    pulled = _wait_for(
        "the hand-pulled file to load in the service",
        lambda: [r for r in service.loads() if r["source_name"] == name], LOAD_DEADLINE_SECONDS, service.process,
    )  # fmt: skip
    assert [r["status"] for r in pulled] == ["loaded"]
    # The ledger row is written before the run ends (its run record, the landed copy cleared): waited for.
    completed = _wait_for(
        "the served ingest-extract run to complete",
        lambda: [
            r for r in _flow_runs(service.api_url, "ingest-extract")
            if r.parameters.get("path", "").endswith(name) and r.state is not None and r.state.is_completed()
        ],
        60, service.process,
    )  # fmt: skip
    assert len(completed) == 1
    assert not (service.landing / "processing" / name).exists()


def _a_hand_run_ingest_is_a_run_of_the_service(service: Running) -> None:
    """`sendflow ingest` by hand, with the service of its home running, runs on the service's Prefect server:
    the run is in its API, as the UI shows it."""
    links = SAMPLE_DIR / "walkthrough" / "links_edubasealldata20250422.csv"
    done = subprocess.run(
        [sys.executable, "-m", "sendflow.cli.main", "ingest", str(links)], cwd=PROJECT,
        env=_environment(service.home, service.gias), capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "using the running sendflow serve" in done.stderr and "not recorded in Prefect" not in done.stderr
    assert done.stdout.startswith(f"{links.name}: loaded (school_links 2025-04-22")
    runs = [r for r in _flow_runs(service.api_url, "ingest-files") if links.as_posix() in str(r.parameters)]
    assert len(runs) == 1 and runs[0].state is not None and runs[0].state.is_completed()


def test_a_file_stranded_by_a_killed_loader_is_loaded_once_when_the_service_restarts(
    tmp_path: Path, gias: Source
) -> None:
    """The service and its loader (the serving process, whose runs load what is announced) are killed outright
    after the watcher took a file and announced it, and the trigger made a run of it that never started: the
    file lies in processing/ with no outcome, its run waits in the Prefect database, and the old Prefect server
    is left running, orphaned. The next `sendflow serve` of the home stops the orphan, cancels the run left
    waiting (a new runner would otherwise offer the file a second time) and takes the file over."""
    home = tmp_path / "home"
    home.mkdir()
    with _serving(home, tmp_path / "first.out", gias, children_too=False) as first:
        server_pid, serving_pid = json.loads((home / "serve.json").read_text())["children"]
        os.killpg(serving_pid, signal.SIGSTOP)  # the loader hangs: the triggered run is made but never starts
        shutil.copyfile(CENSUS, first.landing / CENSUS.name)
        _wait_for("the watcher to take the file", lambda: f"accepted {CENSUS.name}" in first.text(), 60, first.process)
        waiting = _wait_for(
            "the trigger to make the file's run", lambda: _flow_runs(first.api_url, "ingest-extract"), 60, first.process
        )
        os.killpg(serving_pid, signal.SIGKILL)
        os.killpg(first.process.pid, signal.SIGKILL)
        first.process.wait()
    try:
        assert _alive(server_pid)
        assert [run.state_type.value for run in waiting] == ["SCHEDULED"]
        _the_next_service_stops_the_orphan_and_takes_the_file_over(first, tmp_path, server_pid)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(server_pid, signal.SIGKILL)


def _the_next_service_stops_the_orphan_and_takes_the_file_over(first: Running, tmp_path: Path, server_pid: int) -> None:
    stranded = first.landing / "processing" / CENSUS.name
    assert stranded.is_file()
    assert not [r for r in first.loads() if r["status"] == "loaded"], "killed too late: the load had published"

    with _serving(first.home, tmp_path / "second.out", first.gias) as second:
        assert f"stopped process {server_pid}, left running by a sendflow serve of this home" in second.text()
        assert not _alive(server_pid)
        assert "settled the runs an earlier service left: 1 announced but never started (cancelled" in second.text()
        _wait_for(
            "the stranded file to be taken over",
            lambda: f"took over processing/{CENSUS.name} (left with no outcome)" in second.text(), 30, second.process,
        )  # fmt: skip
        loaded = _wait_for(
            "the stranded file to load", lambda: [r for r in second.loads() if r["status"] == "loaded"],
            LOAD_DEADLINE_SECONDS, second.process,
        )  # fmt: skip
        _wait_for("processing/ to be cleared", lambda: not stranded.exists(), 30, second.process)
        time.sleep(3)  # a second take-over would have been announced by now
        rows = second.loads()
        states = _wait_for(
            "the take-over's run to complete", lambda: _run_states_once_completed(second.api_url), 60, second.process
        )
    assert [(r["status"], r["source_name"]) for r in rows] == [("loaded", CENSUS.name)]
    assert loaded[0]["source_sha256"] == rows[0]["source_sha256"]
    assert states == ["CANCELLED", "COMPLETED"], states
