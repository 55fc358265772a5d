"""Run records in Prefect: a table of what each file did, and a page naming its checks and GX Data Docs."""

from __future__ import annotations

from pathlib import Path

from sendflow.core.settings import Settings
from sendflow.loading.file_load import FileOutcome


def artifact_key(outcome: FileOutcome) -> str:
    """Keys are lowercase letters, digits and dashes; one key per dataset keeps a history per dataset."""
    return "ingest-" + (outcome.dataset or "unidentified").replace("_", "-")


def outcome_table(outcome: FileOutcome) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = [
        {"measure": "file", "value": Path(outcome.path).name},
        {"measure": "status", "value": outcome.status},
        {"measure": "dataset", "value": outcome.dataset or ""},
        {"measure": "load id", "value": outcome.load_id if outcome.load_id is not None else ""},
        {"measure": "rows read", "value": outcome.rows_read},
        {"measure": "rows loaded", "value": outcome.rows_loaded},
        {"measure": "rows quarantined", "value": outcome.rows_quarantined},
    ]
    rows += [
        {"measure": f"check failed: {check}", "value": count if count else "file-level"}
        for check, count in outcome.checks_failed
    ]
    return rows


def outcome_markdown(outcome: FileOutcome, settings: Settings) -> str:
    lines = [f"# {Path(outcome.path).name}: {outcome.status}", "", outcome.message, ""]
    if outcome.checks_failed:
        lines += ["| check | rows failing |", "|---|---|"]
        lines += [f"| {check} | {count if count else 'file-level'} |" for check, count in outcome.checks_failed]
        lines.append("")
    if outcome.docs_pages:
        lines.append("Great Expectations Data Docs for this validation:")
        lines += [f"- [{Path(page).name}]({Path(page).resolve().as_uri()})" for page in outcome.docs_pages]
    elif outcome.rows_read > settings.gx_max_rows:
        lines.append(
            f"Validated by the Polars translation of the suite ({outcome.rows_read} rows is over "
            f"SENDFLOW_GX_MAX_ROWS={settings.gx_max_rows}), so Great Expectations wrote no Data Docs page; "
            "the two engines are held to the same answers by the test suite."
        )
    elif outcome.rows_read == 0 and outcome.status in ("rejected", "failed"):
        lines.append("No Data Docs page: the file was refused before validation.")
    return "\n".join(lines)


def publish_run_records(outcome: FileOutcome, settings: Settings) -> None:
    """Inside a flow or task run only: artifacts belong to a run."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    key = artifact_key(outcome)
    description = f"{Path(outcome.path).name}: {outcome.status}"
    create_table_artifact(table=outcome_table(outcome), key=key, description=description)
    create_markdown_artifact(markdown=outcome_markdown(outcome, settings), key=key + "-report", description=description)
