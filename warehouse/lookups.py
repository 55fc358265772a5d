"""Reference rows that transforms need from the warehouse, fetched by the flow before they run."""

from __future__ import annotations

import polars as pl

from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.ledger import query


def schools_by_laestab(warehouse: Warehouse) -> pl.DataFrame:
    """laestab -> urn: the published census first (newest year), then the register (newest version);
    pupil returns name their school by LA and establishment number, the warehouse by URN."""
    rows = query(
        warehouse,
        "SELECT laestab, urn, 1 AS preference, academic_year AS recency FROM fct_school_census "
        "WHERE laestab IS NOT NULL "
        "UNION ALL "
        "SELECT laestab, urn, 0 AS preference, CAST(valid_from AS TEXT) AS recency FROM dim_school "
        "WHERE laestab IS NOT NULL",
    )
    if rows.is_empty():
        return pl.DataFrame(schema={"laestab": pl.String, "urn": pl.String})
    ordered = rows.sort(["preference", "recency"], descending=True)
    return ordered.unique("laestab", keep="first").select("laestab", "urn")
