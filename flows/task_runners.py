"""Where the tasks of one flow run: a thread pool here, or a Dask cluster across machines."""

from __future__ import annotations

from typing import Any

from sendflow.core.settings import thread_count


class TaskRunnerError(ValueError):
    pass


def task_runner_for(spec: str) -> Any:
    """'threads' or 'threads:N', or 'dask://host:port' for a running `dask scheduler` (workers on any machine
    that sees the same warehouse, lake and landing folders)."""
    spec = spec.strip()
    if spec == "threads" or spec.startswith("threads:"):
        from prefect.task_runners import ThreadPoolTaskRunner

        try:
            workers = thread_count(spec)
        except ValueError as error:
            raise TaskRunnerError(str(error)) from error
        return ThreadPoolTaskRunner(max_workers=workers) if workers else ThreadPoolTaskRunner()
    if spec.startswith("dask://"):
        from prefect_dask import DaskTaskRunner

        address = spec.removeprefix("dask://")
        if not address or ":" not in address:
            raise TaskRunnerError(f"SENDFLOW_TASK_RUNNER={spec!r}: give the scheduler as dask://host:port")
        return DaskTaskRunner(address=f"tcp://{address}")
    raise TaskRunnerError(f"SENDFLOW_TASK_RUNNER={spec!r}: use 'threads', 'threads:N' or 'dask://host:port'")
