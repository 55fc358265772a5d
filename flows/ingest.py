"""The ingest flows: `ingest-files` (behind `sendflow ingest`) and `ingest-extract` (run by the event of a
file landing). One task per file; run records as artifacts; an event per successful load."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from prefect import Flow, flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from sendflow.core.settings import Settings, get_settings
from sendflow.flows import events
from sendflow.flows.artifacts import publish_run_records
from sendflow.flows.task_runners import task_runner_for
from sendflow.loading.events import loaded_event_payload
from sendflow.loading.file_load import Context, ingest_path
from sendflow.loading.outcomes import FileOutcome
from sendflow.loading.pupil_files import shown_name
from sendflow.loading.runs import offer_files, offer_landed
from sendflow.registry.datasets import DATASETS
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.schema import ensure_schema

PUBLISH_LIMIT_PREFIX = "sendflow-publish-"


def _publish_limit_name(dataset: str) -> str:
    return PUBLISH_LIMIT_PREFIX + dataset.replace("_", "-")


def ensure_publish_limits() -> None:
    """One slot per dataset, so two runs never publish the same dataset at once (Prefect can start a run
    twice, and a scheduled pull can race a file dropped by hand); the ledger makes the second a duplicate."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        for dataset in DATASETS:
            client.upsert_global_concurrency_limit_by_name(_publish_limit_name(dataset.name), limit=1)


@contextmanager
def _prefect_publish_slot(dataset: str) -> Iterator[None]:
    from prefect.concurrency.sync import concurrency

    with concurrency(_publish_limit_name(dataset), occupy=1, strict=True):
        yield


def prefect_publish_slot(dataset: str) -> AbstractContextManager[None]:
    return _prefect_publish_slot(dataset)


def _task_run_name() -> str:
    """The task run's name in Prefect: the file by its shown name (a pupil file's own name may be a pupil's),
    decided by the same function as the ledger's, which the load then finds remembered."""
    from prefect.runtime import task_run

    return f"ingest {shown_name(Path(task_run.parameters['path']))}"


@task(name="ingest-file", cache_policy=NO_CACHE, persist_result=False, task_run_name=_task_run_name)
def ingest_file(path: Path, academic_year: str | None, settings: Settings) -> FileOutcome:
    """Settings, not a live context, cross to the task: on a Dask worker it opens its own connections."""
    outcome = ingest_path(path, academic_year, Context.from_settings(settings, prefect_publish_slot))
    try:
        publish_run_records(outcome, settings)
        payload = loaded_event_payload(outcome)
        if payload is not None:
            events.dataset_loaded(payload)
    except Exception as error:  # the load is in the ledger; a lost artifact or event must not lose the run
        get_run_logger().warning(
            "%s: its run record or event was not published (%s)", outcome.name, type(error).__name__
        )
    return outcome


@flow(name="ingest-files", persist_result=False, log_prints=False)
def ingest_files(paths: list[str], academic_year: str | None = None) -> list[FileOutcome]:
    """Load each file; one bad file never stops the others. Outcomes come back in the order given."""
    settings = get_settings()
    ensure_schema(Warehouse(settings.warehouse_url))
    ensure_publish_limits()
    logger = get_run_logger()

    def run_wave(files: list[Path]) -> list[FileOutcome | BaseException]:
        futures = [ingest_file.submit(path, academic_year, settings) for path in files]
        results: list[FileOutcome | BaseException] = []
        for future in futures:
            try:
                results.append(future.result())
            except Exception as error:  # a task that died: offer_files makes it this file's failed outcome
                results.append(error)
        return results

    return offer_files([Path(p) for p in paths], run_wave, told=lambda outcome: logger.info(outcome.line()))


def with_task_runner(settings: Settings) -> Flow[..., list[FileOutcome]]:
    """`ingest_files` on the task runner the settings name (threads, or a Dask cluster)."""
    return ingest_files.with_options(task_runner=task_runner_for(settings.task_runner))


@flow(name="ingest-extract", persist_result=False, log_prints=False)
def ingest_extract(path: str, sha256: str, academic_year: str | None = None) -> FileOutcome:
    """Load one landed file, as announced by a `sendflow.extract.landed` event.

    Safe to run twice for one event (an orchestrator may): the second finds the bytes in the ledger and
    records a duplicate. A file changed since it landed is refused rather than loaded under the wrong hash."""
    settings = get_settings()
    ensure_schema(Warehouse(settings.warehouse_url))
    ensure_publish_limits()
    logger = get_run_logger()
    outcome, offered = offer_landed(Path(path), sha256, settings, lambda p: ingest_file(p, academic_year, settings))
    if not offered:  # answered before any offer (not there, or changed): no task wrote its run record
        publish_run_records(outcome, settings)
    logger.info(outcome.line())
    return outcome
