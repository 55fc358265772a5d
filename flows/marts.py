"""`refresh-marts`: run by `sendflow.dataset.loaded`; rebuilds only what reads the loaded dataset.

Gold Parquet of every view over the dataset's tables, and the trust reports it changes: those already
written under the reports folder (someone asked for them once) or named in SENDFLOW_REPORT_TRUSTS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, get_run_logger

from sendflow.core.settings import Settings, get_settings
from sendflow.registry.datasets import BY_NAME
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.lake import Lake
from sendflow.warehouse.marts import existing_relations, views_reading, write_gold
from sendflow.warehouse.schema import ensure_schema


@dataclass
class Refreshed:
    dataset: str
    gold: list[tuple[str, str, int]] = field(default_factory=list)  # view, parquet path, rows
    reports: list[tuple[str, str]] = field(default_factory=list)  # trust id, html path
    skipped: list[tuple[str, str]] = field(default_factory=list)  # trust id, why its report was not written

    def markdown(self) -> str:
        lines = [f"# Refreshed after a load of {self.dataset}", ""]
        if self.gold:
            lines += ["| view | rows | gold Parquet |", "|---|---|---|"]
            lines += [f"| {v} | {n} | [{Path(p).name}]({Path(p).as_uri()}) |" for v, p, n in self.gold]
        else:
            lines.append("No view reads this dataset.")
        lines.append("")
        if self.reports:
            lines += ["Trust reports regenerated:", ""]
            lines += [f"- trust {trust}: [{Path(path).name}]({Path(path).as_uri()})" for trust, path in self.reports]
        elif not self.skipped:
            lines.append("No kept trust report depends on this load.")
        if self.skipped:
            lines += ["", "Trust reports not written:", ""]
            lines += [f"- trust {trust}: {why}" for trust, why in self.skipped]
        return "\n".join(lines)


def kept_reports(settings: Settings) -> set[str]:
    """Trusts whose reports are kept current: asked for by setting, or written here before."""
    kept = set(settings.report_trusts)
    if settings.reports_dir.is_dir():
        kept |= {p.name.removeprefix("trust-") for p in settings.reports_dir.glob("trust-*") if p.is_dir()}
    return kept


def refresh(settings: Settings, dataset_name: str, partitions: list[str]) -> Refreshed:
    dataset = BY_NAME[dataset_name]
    warehouse = Warehouse(settings.warehouse_url)
    lake = Lake(settings.lake_dir)
    refreshed = Refreshed(dataset_name)
    present = existing_relations(warehouse)
    for view in views_reading({dataset.table, *dataset.derived}):
        if view.name in present:
            path, rows = write_gold(warehouse, lake, view)
            refreshed.gold.append((view.name, str(path), rows))
    kept = kept_reports(settings)
    if kept:
        from sendflow.reports.affected import trusts_affected_by
        from sendflow.reports.write import write_trust_reports

        affected = sorted(kept & set(trusts_affected_by(warehouse, dataset_name, partitions)))
        for outcome in write_trust_reports(warehouse, affected, None, settings.reports_dir, settings):
            if outcome.files is None:
                refreshed.skipped.append((outcome.trust_id, str(outcome.skipped)))
            else:
                refreshed.reports.append((outcome.trust_id, str(outcome.files.html)))
    return refreshed


@flow(name="refresh-marts", persist_result=False)
def refresh_marts(dataset: str, partitions: list[str] | None = None, load_id: int | None = None) -> list[str]:
    """What depends on `dataset` only; `partitions` (as the load event names them) narrow the reports."""
    from prefect.artifacts import create_markdown_artifact

    settings = get_settings()
    ensure_schema(Warehouse(settings.warehouse_url))
    refreshed = refresh(settings, dataset, list(partitions or []))
    create_markdown_artifact(
        markdown=refreshed.markdown(),
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
