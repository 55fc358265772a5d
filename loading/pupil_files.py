"""Pupil-level housekeeping: the reconciliation printed after a load, and purging raw pupil files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl

from sendflow.core.settings import Settings
from sendflow.core.text import table
from sendflow.registry.datasets import DATASETS
from sendflow.warehouse import ledger
from sendflow.warehouse.connection import Warehouse


def reconciliation_for_loads(warehouse: Warehouse, load_ids: list[int]) -> pl.DataFrame:
    """v_census_reconciliation for the schools and censuses these loads brought in."""
    if not load_ids:
        return pl.DataFrame()
    ids = ", ".join(str(int(i)) for i in load_ids)
    return ledger.query(
        warehouse,
        "SELECT r.* FROM v_census_reconciliation r JOIN (SELECT DISTINCT urn, academic_year, census_term "
        f"FROM fct_pupil_census WHERE load_id IN ({ids})) l ON l.urn = r.urn AND l.academic_year = r.academic_year "
        "AND l.census_term = r.census_term ORDER BY r.urn",
    )


def reconciliation_text(rows: pl.DataFrame, limit: int = 30) -> str:
    if rows.is_empty():
        return "No pupil-level returns to reconcile."
    differing = rows.filter(
        (pl.col("pupils_diff") != 0) | (pl.col("ehc_plan_diff") != 0) | (pl.col("sen_support_diff") != 0)
    )
    unpublished = rows.filter(pl.col("pupils_published").is_null()).height
    shown = (differing if differing.height else rows).head(limit)
    columns = ["urn", "academic_year", "census_term", "pupils_returned", "pupils_published", "pupils_diff",
               "ehc_plan_returned", "ehc_plan_published", "ehc_plan_diff", "sen_support_returned",
               "sen_support_published", "sen_support_diff"]  # fmt: skip
    headline = (
        f"Reconciliation against the published school census: {rows.height} school census(es), "
        f"{differing.height} with differences, {unpublished} with nothing published to compare"
    )
    headers = [
        "URN",
        "year",
        "term",
        "pupils",
        "published",
        "diff",
        "EHC",
        "published",
        "diff",
        "K",
        "published",
        "diff",
    ]
    return headline + "\n" + table(headers, shown.select(columns).rows())


def purge_pupil_files(settings: Settings, older_than_days: int) -> list[Path]:
    """Delete raw pupil-level files (bronze copies and rejected copies) offered more than N days ago."""
    personal = [d.name for d in DATASETS if d.personal]
    warehouse = Warehouse(settings.warehouse_url)
    cutoff = ledger.now() - timedelta(days=older_than_days)
    names = ", ".join(f"'{name}'" for name in personal)
    offered = ledger.read_table(warehouse, "etl_load", f"dataset IN ({names})")
    old = offered.filter(pl.col("started_at") < cutoff)["source_sha256"].unique().to_list()
    removed: list[Path] = []
    for sha in old:
        candidates = [
            *(settings.lake_dir / "bronze").glob(f"{sha}*"),
            *(settings.landing_dir / "rejected").glob(f"{sha[:12]}_*"),
        ]
        for path in candidates:
            if path.is_file():
                path.unlink()
                removed.append(path)
    return removed
