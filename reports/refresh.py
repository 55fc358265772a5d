"""After a load: what reads the loaded dataset, rebuilt. The gold Parquet of every view over the dataset's tables,
and the trust reports the load may change among those kept current (written here before, or asked for).
`flows/marts.py` runs this as the refresh-marts flow and records `Refreshed.markdown()` as its artifact."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sendflow.core.links import PATHS_ONLY, FileLinks
from sendflow.core.settings import ReportOptions
from sendflow.registry.datasets import BY_NAME
from sendflow.registry.partitions import PartitionValue
from sendflow.reports.affected import trusts_affected_by
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.lake import Lake
from sendflow.warehouse.marts import existing_relations, views_reading, write_gold


@dataclass
class Refreshed:
    dataset: str
    gold: list[tuple[str, str, int]] = field(default_factory=list)  # view, parquet path, rows
    reports: list[tuple[str, str]] = field(default_factory=list)  # trust id, html path
    skipped: list[tuple[str, str]] = field(default_factory=list)  # trust id, why its report was not written

    def markdown(self, links: FileLinks = PATHS_ONLY) -> str:
        """`links` (`FileLinks.of(settings)`) link the files on serve's file server; without: their paths."""
        lines = [f"# Refreshed after a load of {self.dataset}", ""]
        if self.gold:
            lines += ["| view | rows | gold Parquet |", "|---|---|---|"]
            lines += [f"| {v} | {n} | {links.markdown(p)} |" for v, p, n in self.gold]
        else:
            lines.append("No view reads this dataset.")
        lines.append("")
        if self.reports:
            lines += ["Trust reports regenerated:", ""]
            lines += [f"- trust {trust}: {links.markdown(path)}" for trust, path in self.reports]
        elif not self.skipped:
            lines.append("No kept trust report depends on this load.")
        if self.skipped:
            lines += ["", "Trust reports not written:", ""]
            lines += [f"- trust {trust}: {why}" for trust, why in self.skipped]
        return "\n".join(lines)


def kept_reports(reports_dir: Path, asked_for: Sequence[str] = ()) -> set[str]:
    """Trusts whose reports are kept current: asked for (SENDFLOW_REPORT_TRUSTS), or written here before."""
    kept = set(asked_for)
    if reports_dir.is_dir():
        kept |= {p.name.removeprefix("trust-") for p in reports_dir.glob("trust-*") if p.is_dir()}
    return kept


def refresh(
    warehouse: Warehouse,
    lake: Lake,
    dataset_name: str,
    partitions: Sequence[Mapping[str, PartitionValue]],
    reports_dir: Path,
    kept: set[str],
    options: ReportOptions,
) -> Refreshed:
    """Rewrite the gold Parquet of every view reading the dataset's tables, and the reports among `kept`
    that the load's partitions may change."""
    dataset = BY_NAME[dataset_name]
    refreshed = Refreshed(dataset_name)
    present = existing_relations(warehouse)
    for view in views_reading({dataset.table, *dataset.derived}):
        if view.name in present:
            path, rows = write_gold(warehouse, lake, view)
            refreshed.gold.append((view.name, str(path), rows))
    if kept:
        affected = sorted(kept & set(trusts_affected_by(warehouse, dataset_name, partitions)))
        from sendflow.reports.write import write_trust_reports  # matplotlib: only when a report is kept

        for outcome in write_trust_reports(warehouse, affected, None, reports_dir, options):
            if outcome.files is None:
                refreshed.skipped.append((outcome.trust_id, str(outcome.skipped)))
            else:
                refreshed.reports.append((outcome.trust_id, str(outcome.files.html)))
    return refreshed
