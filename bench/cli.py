"""Hand-run commands as a user runs them: each a whole process, median of 5, on the real 2023-24 census, beside
the in-process pipeline time of the same work in the same run (prints figures and ratios; asserts nothing).

    make bench      # or: .venv/bin/python -m bench.cli

No PREFECT_API_URL and no `sendflow serve`: the hand-run path, with no Prefect server.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import CENSUS

RUNS = 5
PROJECT = Path(__file__).resolve().parents[1]


def _environment(home: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SENDFLOW_"))}
    environment.update(SENDFLOW_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    return environment


def _wall(arguments: list[str], home: Path, cwd: Path = PROJECT) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "sendflow.cli.main", *arguments], cwd=cwd, env=_environment(home),
        capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"sendflow {' '.join(arguments)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds


def _median(prepare: Callable[[Path], None], arguments: list[str], root: Path) -> float:
    """Median wall time of RUNS processes, each after `prepare(home)` (untimed) on a home of its own."""
    times = []
    for number in range(RUNS):
        home = root / f"home-{'-'.join(arguments[:1])}-{number}-{time.monotonic_ns()}"
        prepare(home)
        times.append(_wall(arguments, home))
        shutil.rmtree(home, ignore_errors=True)
    return statistics.median(times)


def _in_process_pipeline(root: Path) -> tuple[float, float]:
    """The same first load and duplicate in this process, warm (imports paid): what the commands wrap, with the
    hand-run path's own context (its checks by the Polars translation) and its answer to a repeat."""
    from sendflow.cli.local import hand_run_context
    from sendflow.core.settings import Settings
    from sendflow.loading.file_load import ingest_path
    from sendflow.loading.repeats import answer_repeat
    from sendflow.warehouse.connection import Warehouse

    firsts, duplicates = [], []
    for number in range(RUNS):
        context = hand_run_context(Settings(home=root / f"in-process-{number}"))
        start = time.perf_counter()
        ingest_path(CENSUS, None, context)
        firsts.append(time.perf_counter() - start)
        single_rows = Warehouse(context.warehouse.url, single_rows=True)
        start = time.perf_counter()
        answer_repeat(CENSUS, single_rows, context.settings.home)
        duplicates.append(time.perf_counter() - start)
    return statistics.median(firsts), statistics.median(duplicates)


def main() -> None:
    if not CENSUS.exists():
        raise SystemExit(f"real data not found at {CENSUS}")
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        first_here, duplicate_here = _in_process_pipeline(root)

        def loaded(home: Path) -> None:
            _wall(["ingest", str(CENSUS)], home)

        def demoed(home: Path) -> None:
            _wall(["demo"], home)

        def empty(home: Path) -> None:
            home.mkdir(parents=True)

        figures = [
            ("ingest, duplicate of the real census", _median(loaded, ["ingest", str(CENSUS)], root), duplicate_here),
            ("ingest, first load into a fresh home", _median(empty, ["ingest", str(CENSUS)], root), first_here),
            ("status", _median(loaded, ["status"], root), None),
            ("demo, warm (every file a duplicate)", _median(demoed, ["demo"], root), None),
            ("demo, on an empty var/", _median(empty, ["demo"], root), None),
            ("--help", _median(empty, ["--help"], root), None),
        ]
    print(f"Hand-run commands, whole processes, median of {RUNS} (no Prefect server; {CENSUS.name}):")
    for label, seconds, pipeline in figures:
        ratio = f"  in-process pipeline {pipeline:6.3f} s, ratio {seconds / pipeline:5.1f}x" if pipeline else ""
        print(f"  {label:<40} {seconds:7.3f} s{ratio}")


if __name__ == "__main__":
    main()
