"""The Prefect flow behind `sendflow ingest`: one task per file, an event per successful load."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event

from flows.pipeline import Context, FileOutcome, ingest_path
from flows.settings import get_settings
from warehouse.schema import ensure_schema

DATASET_LOADED_EVENT = "sendflow.dataset.loaded"


@task(name="ingest-file", cache_policy=NO_CACHE, persist_result=False, task_run_name="ingest {path.name}")
def ingest_file(path: Path, academic_year: str | None, context: Context) -> FileOutcome:
    return ingest_path(path, academic_year, context)


@flow(name="ingest-files", persist_result=False, log_prints=False)
def ingest_files(paths: list[str], academic_year: str | None = None) -> list[FileOutcome]:
    """Load each file in turn; one bad file never stops the others."""
    context = Context.from_settings(get_settings())
    ensure_schema(context.warehouse)
    logger = get_run_logger()
    outcomes = []
    for path in paths:
        outcome = ingest_file(Path(path), academic_year, context)
        logger.info(outcome.line())
        if outcome.status == "loaded":
            emit_event(
                event=DATASET_LOADED_EVENT,
                resource={"prefect.resource.id": f"sendflow.dataset.{outcome.dataset}"},
                payload={
                    "dataset": outcome.dataset,
                    "partitions": list(outcome.partitions),
                    "load_id": outcome.load_id,
                },
            )
        outcomes.append(outcome)
    return outcomes
