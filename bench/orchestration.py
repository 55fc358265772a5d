"""Orchestration figures (not a test: prints figures only).

1. Fan-out: the real 2023-24 census cut into one file per group of LAs, loaded in one `ingest-files` run
   on one thread, on the thread pool, and on a two-worker Dask LocalCluster; seconds and ratios.
2. Service: `sendflow serve` start-up, then seconds from a file landing to its load being in the ledger.

make bench   (or: .venv/bin/python -m bench.orchestration)
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from bench.common import CENSUS
from sendflow.core.settings import Settings
from sendflow.core.vocabulary import LoadStatus

FILES = 8
PROJECT = Path(__file__).resolve().parents[1]


def census_slices(out: Path) -> list[Path]:
    """One CSV per group of LAs, header and layout unchanged, so each loads as its own file."""
    text = CENSUS.read_text(encoding="utf-8-sig").splitlines()
    header, rows = text[0], text[1:]
    frame = pl.DataFrame({"line": rows}).with_columns(la=pl.col("line").str.split(",").list.get(1, null_on_oob=True))
    las = sorted(frame["la"].drop_nulls().unique().to_list())
    paths = []
    for number in range(FILES):
        chosen = set(las[number::FILES])
        lines = frame.filter(pl.col("la").is_in(chosen))["line"].to_list()
        path = out / f"england_census_2023-24_part{number + 1}.csv"
        path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def fan_out(files: list[Path], runner: str, home: Path) -> float:
    from sendflow.flows.ingest import with_task_runner

    os.environ["SENDFLOW_HOME"] = str(home)
    settings = Settings(home=home, task_runner=runner)
    start = time.perf_counter()
    outcomes = with_task_runner(settings)([str(p) for p in files])
    seconds = time.perf_counter() - start
    assert all(o.status == LoadStatus.LOADED for o in outcomes), [o.line() for o in outcomes]
    return seconds


def bench_fan_out(work: Path) -> None:
    from distributed import LocalCluster
    from prefect.testing.utilities import prefect_test_harness

    files = census_slices(work)
    rows = sum(len(p.read_text().splitlines()) - 1 for p in files)
    print(f"Fan-out: {len(files)} files, {rows:,} rows of the real 2023-24 census, one ingest-files run each")
    with prefect_test_harness(server_startup_timeout=120):
        from prefect.settings import PREFECT_API_URL

        os.environ["PREFECT_API_URL"] = PREFECT_API_URL.value()
        fan_out(files[:1], "threads", work / "warm")  # first run pays for imports and the GX context
        one = fan_out(files, "threads:1", work / "one")
        pool = fan_out(files, "threads", work / "pool")
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            address = cluster.scheduler_address.removeprefix("tcp://")
            fan_out(files[:1], f"dask://{address}", work / "dask-warm")
            dask = fan_out(files, f"dask://{address}", work / "dask")
        os.environ.pop("PREFECT_API_URL")
    print(f"  one thread                  {one:8.2f} s")
    print(f"  thread pool                 {pool:8.2f} s   {one / pool:5.2f}x one thread")
    print(f"  Dask LocalCluster, 2 procs  {dask:8.2f} s   {one / dask:5.2f}x one thread")


def bench_service(work: Path, landings: int = 3) -> None:
    home = work / "service"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SENDFLOW_"))}
    environment.update(
        SENDFLOW_HOME=str(home), SENDFLOW_SERVE_PORT="0", SENDFLOW_WATCH_INTERVAL_SECONDS="0.5",
        SENDFLOW_WATCH_SETTLE_SECONDS="1", PREFECT_HOME=str(home / "prefect"), PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )  # fmt: skip
    home.mkdir(parents=True)
    log = home / "serve.out"
    start = time.perf_counter()
    with open(log, "w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "sendflow.cli.main", "serve"], cwd=PROJECT, env=environment, stdout=sink,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        while "sendflow is serving" not in log.read_text():
            if process.poll() is not None or time.perf_counter() - start > 180:
                raise RuntimeError(log.read_text())
            time.sleep(0.2)
        started = time.perf_counter() - start
        print(f"Service: sendflow serve ready in {started:.1f} s (server, deployments, triggers, watcher)")
        (work / "landings").mkdir()
        slices = census_slices(work / "landings")[:landings]
        for path in slices:
            landed = time.perf_counter()
            shutil.copyfile(path, home / "landing" / path.name)
            while not _loaded(home, path.name):
                time.sleep(0.2)
            print(f"  {path.name}: landed -> loaded in {time.perf_counter() - landed:5.1f} s (settle 1 s included)")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=120)


def _loaded(home: Path, name: str) -> bool:
    from sendflow.warehouse import ledger
    from sendflow.warehouse.connection import Warehouse

    if not (home / "warehouse.sqlite").exists():
        return False
    try:
        frame = ledger.query(
            Warehouse(f"sqlite:///{home / 'warehouse.sqlite'}"),
            f"SELECT COUNT(*) AS n FROM etl_load WHERE status = 'loaded' AND source_name = '{name}'",
        )
    except Exception:  # the first run is still creating the schema
        return False
    return bool(frame["n"][0])


def main() -> None:
    if not CENSUS.exists():
        print(f"needs the real census at {CENSUS}")
        return
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    with tempfile.TemporaryDirectory() as work:
        bench_fan_out(Path(work))
        bench_service(Path(work))


if __name__ == "__main__":
    main()
