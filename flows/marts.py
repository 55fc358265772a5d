"""`refresh-marts`: run by `sendflow.dataset.loaded`; rebuilds only what reads the loaded dataset.

Gold Parquet of every view over the dataset's tables, and the trust reports it changes: those already
written under the reports folder (someone asked for them once) or named in SENDFLOW_REPORT_TRUSTS.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from sendflow.core.links import FileLinks
from sendflow.core.settings import get_settings
from sendflow.registry.partitions import PartitionValue
from sendflow.reports.refresh import kept_reports, refresh
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.lake import Lake
from sendflow.warehouse.schema import ensure_schema


@flow(name="refresh-marts", persist_result=False)
def refresh_marts(
    dataset: str, partitions: list[dict[str, PartitionValue]] | None = None, load_id: int | None = None
) -> list[str]:
    """What depends on `dataset` only; `partitions` (the load event's, key -> value) narrow the reports."""
    from prefect.artifacts import create_markdown_artifact

    settings = get_settings()
    warehouse = Warehouse(settings.warehouse_url)
    ensure_schema(warehouse)
    kept = kept_reports(settings.reports_dir, settings.report_trusts)
    refreshed = refresh(
        warehouse, Lake(settings.lake_dir), dataset, list(partitions or []), settings.reports_dir, kept,
        settings.report_options,
    )  # fmt: skip
    create_markdown_artifact(
        markdown=refreshed.markdown(FileLinks.of(settings)),
        key="refresh-marts-" + dataset.replace("_", "-"),
        description=f"what was rebuilt after load {load_id} of {dataset}" if load_id else f"after a load of {dataset}",
    )
    logger = get_run_logger()
    lines = [f"gold {view}: {rows} rows -> {path}" for view, path, rows in refreshed.gold]
    lines += [f"report of trust {trust}: {path}" for trust, path in refreshed.reports]
    lines += [f"report of trust {trust} not written: {why}" for trust, why in refreshed.skipped]
    for line in lines:
        logger.info(line)
    return lines
