"""Run records in Prefect: a table of what each file did, and a page naming its checks and GX Data Docs."""

from __future__ import annotations

from sendflow.core.links import FileLinks
from sendflow.core.settings import Settings
from sendflow.loading.outcomes import FileOutcome
from sendflow.loading.run_record import artifact_key, outcome_markdown, outcome_table


def publish_run_records(outcome: FileOutcome, settings: Settings) -> None:
    """Inside a flow or task run only: artifacts belong to a run."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    key = artifact_key(outcome)
    description = f"{outcome.name}: {outcome.status}"
    create_table_artifact(table=outcome_table(outcome), key=key, description=description)
    create_markdown_artifact(
        markdown=outcome_markdown(outcome, settings.gx_max_rows, FileLinks.of(settings)),
        key=key + "-report",
        description=description,
    )
