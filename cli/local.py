"""The hand-run path when no Prefect server is configured or running: the pipeline in this process.

The same code the flows' tasks call (loading.runs for a run's waves, loading.file_load for each file,
loading.runs.offer_landed for a landed file, landing for pulls and the watcher's poll, reports.refresh for
what a load changes), with threads of this process in place of Prefect's task runner. Nothing is recorded in
Prefect, and no server is started: a throwaway one cost 10-20 s per command on this machine.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from sendflow.core.settings import Settings, thread_count
from sendflow.core.vocabulary import LoadStatus, PullSource, PullStatus
from sendflow.loading.outcomes import FileOutcome
from sendflow.loading.repeats import answer_repeat
from sendflow.registry.partitions import Partition
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.recent import has_ledger

if TYPE_CHECKING:  # the loader's imports take seconds: made where a file is loaded, never for a repeat
    from sendflow.landing.zone import Accepted
    from sendflow.loading.file_load import Context

NOT_RECORDED = (
    "sendflow: running here, not recorded in Prefect (no PREFECT_API_URL and no `sendflow serve` of this home "
    "running); start `sendflow serve` or set PREFECT_API_URL to have runs recorded"
)


def runs_here(settings: Settings) -> bool:
    """A Dask cluster is reached through Prefect's task runner: only the thread pool runs without it."""
    return not settings.task_runner.strip().startswith("dask://")


def say_not_recorded() -> None:
    print(NOT_RECORDED, file=sys.stderr, flush=True)


def hand_run_context(settings: Settings) -> Context:
    from sendflow.loading.file_load import Context
    from sendflow.warehouse.schema import ensure_schema

    # A served process imports GX once for many runs; here one command would pay its ~4 s import every time.
    context = Context.from_settings(settings.model_copy(update={"gx_max_rows": settings.hand_run_gx_max_rows}))
    ensure_schema(context.warehouse)  # a load creates or migrates the schema, as the flows do
    return context


def ingest_here(paths: Iterable[str], academic_year: str | None, settings: Settings) -> list[FileOutcome]:
    """What the `ingest-files` flow does, and then what the loads' events would have triggered. Repeats of
    loaded bytes are answered first, before the loader is imported (loading/repeats.py); the rest are
    offered as the flow offers them."""
    files = [Path(p) for p in paths]
    outcomes: dict[int, FileOutcome] = _repeats_answered(files, settings)
    rest = [index for index in range(len(files)) if index not in outcomes]
    if rest:
        from sendflow.loading.file_load import ingest_path
        from sendflow.loading.runs import in_threads, offer_files

        context = hand_run_context(settings)
        offer = in_threads(lambda path: ingest_path(path, academic_year, context), thread_count(settings.task_runner))
        outcomes.update(zip(rest, offer_files([files[i] for i in rest], offer), strict=True))
    ordered = [outcomes[index] for index in range(len(files))]
    refresh_after(ordered, settings)
    return ordered


def _repeats_answered(files: list[Path], settings: Settings) -> dict[int, FileOutcome]:
    """Each file whose bytes a load published, by position, answered `duplicate`. Through Python's own sqlite3
    (or psycopg), closed before the loader opens the warehouse; with no ledger yet, nothing is a repeat."""
    warehouse = Warehouse(settings.warehouse_url, single_rows=True)
    try:
        if not has_ledger(warehouse):
            return {}
    except Exception:  # unreachable or missing: the loader says so, in its own words, for each file
        return {}
    answered = {}
    for index, path in enumerate(files):
        outcome = answer_repeat(path, warehouse, settings.home)
        if outcome is not None:
            answered[index] = outcome
    return answered


def refresh_after(outcomes: Iterable[FileOutcome], settings: Settings) -> None:
    """What `refresh-marts` rebuilds after each load's `sendflow.dataset.loaded` event: the gold Parquet of the
    views over the loaded datasets, and the kept trust reports the loads change. No event is heard here."""
    loaded: dict[str, list[Partition]] = {}
    for outcome in outcomes:
        if outcome.status == LoadStatus.LOADED and outcome.dataset:
            loaded.setdefault(outcome.dataset, []).extend(outcome.partitions)
    if not loaded:
        return
    from sendflow.reports.refresh import kept_reports, refresh
    from sendflow.warehouse.lake import Lake

    kept = kept_reports(settings.reports_dir, settings.report_trusts)
    for dataset, partitions in loaded.items():
        refresh(
            Warehouse(settings.warehouse_url), Lake(settings.lake_dir), dataset, partitions, settings.reports_dir,
            kept, settings.report_options,
        )  # fmt: skip


def landed_here(settings: Settings) -> Callable[[Accepted], str]:
    """The watcher's delivery: what `ingest-extract` does for an announced file, here."""
    from sendflow.loading.file_load import ingest_path
    from sendflow.loading.runs import offer_landed

    context = hand_run_context(settings)

    def deliver(accepted: Accepted) -> str:
        outcome, _ = offer_landed(
            accepted.path, accepted.sha256, settings, lambda path: ingest_path(path, None, context)
        )
        refresh_after([outcome], settings)
        return outcome.line()

    return deliver


def watch_here(settings: Settings, stop: threading.Event, once: bool, report: Callable[[str], None]) -> int:
    """`sendflow watch` with no server: the same poll and the same rule for what was left in processing/."""
    from sendflow.landing.watcher import poll
    from sendflow.loading.landed import Leftovers

    deliver = landed_here(settings)
    leftovers = Leftovers(settings)
    return poll(
        settings, deliver, lambda path, reason: None, stop, once=once, report=report,
        recover=lambda left: leftovers.handle(left.path, left.sha256, left.source, lambda: deliver(left)),
    )  # fmt: skip


def pull_here(source: PullSource, day: date | None, settings: Settings) -> list[str]:
    """What the `pull-gias` / `pull-ees` flows do, each new file then loaded here (an announcement nobody
    hears would strand it in processing/)."""
    from sendflow.landing.pullers import pull
    from sendflow.landing.zone import Accepted

    pulled = pull(settings, source, day)
    deliver = landed_here(settings) if any(p.status == PullStatus.NEW for p in pulled) else None
    lines = []
    for result in pulled:
        lines.append(result.line())
        if deliver is not None and result.status == PullStatus.NEW and result.path and result.sha256:
            lines.append("  " + deliver(Accepted(result.path, result.sha256, result.url)))
    return lines
