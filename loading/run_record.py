"""A load's run record: the table of what one file did and the page naming its checks and GX Data Docs.
Plain content; `flows/artifacts.py` publishes it as Prefect artifacts."""

from __future__ import annotations

import json

from sendflow.core.links import PATHS_ONLY, FileLinks
from sendflow.loading.outcomes import FileOutcome


def artifact_key(outcome: FileOutcome) -> str:
    """Keys are lowercase letters, digits and dashes; one key per dataset keeps a history per dataset."""
    return "ingest-" + (outcome.dataset or "unidentified").replace("_", "-")


def outcome_table(outcome: FileOutcome) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = [
        {"measure": "file", "value": outcome.name},
        {"measure": "status", "value": outcome.status},
        {"measure": "dataset", "value": outcome.dataset or ""},
        {"measure": "load id", "value": outcome.load_id if outcome.load_id is not None else ""},
        {"measure": "rows read", "value": outcome.rows_read},
        {"measure": "rows loaded", "value": outcome.rows_loaded},
        {"measure": "rows quarantined", "value": outcome.rows_quarantined},
    ]
    # Each replaced partition as JSON, exactly as the load event carries it.
    rows += [{"measure": "partition replaced", "value": json.dumps(p)} for p in outcome.partitions]
    rows += [
        {"measure": f"check failed: {check}", "value": count if count else "file-level"}
        for check, count in outcome.checks_failed
    ]
    return rows


def outcome_markdown(outcome: FileOutcome, gx_max_rows: int, links: FileLinks = PATHS_ONLY) -> str:
    """`links` (`FileLinks.of(settings)`) link the Data Docs pages on serve's file server; without: their paths."""
    lines = [f"# {outcome.name}: {outcome.status}", "", outcome.message, ""]
    if outcome.checks_failed:
        lines += ["| check | rows failing |", "|---|---|"]
        lines += [f"| {check} | {count if count else 'file-level'} |" for check, count in outcome.checks_failed]
        lines.append("")
    if outcome.docs_pages:
        lines.append("Great Expectations Data Docs for this validation:")
        lines += [f"- {links.markdown(page)}" for page in outcome.docs_pages]
    elif outcome.rows_read > gx_max_rows:
        lines.append(
            f"Validated by the Polars translation of the suite ({outcome.rows_read} rows is over "
            f"SENDFLOW_GX_MAX_ROWS={gx_max_rows}), so Great Expectations wrote no Data Docs page; "
            "the two engines are held to the same answers by the test suite."
        )
    elif outcome.rows_read == 0 and not outcome.ok:
        lines.append("No Data Docs page: the file was refused before validation.")
    return "\n".join(lines)
