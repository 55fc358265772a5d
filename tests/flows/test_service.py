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


@pytest.fixture
def service(tmp_path: Path, gias: Source) -> Iterator[Running]:
    home = tmp_path / "home"
    home.mkdir()
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
    output = tmp_path / "serve.out"
    with open(output, "w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "sendflow.cli.main", "serve"], cwd=PROJECT, env=environment, stdout=sink,
            stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
    running = Running(home, process, output, gias)
    try:
        _wait_for("the service to start", lambda: "sendflow is serving" in running.text(), 180, process)
        yield running
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


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

    _a_scheduled_pull_lands_announces_and_loads_once(service)

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
