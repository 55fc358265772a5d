"""The GIAS all-groups register: one row per group (academy trust, sponsor, federation, children's centre
group) with its reference, Companies House number, type, status, dates and UKPRN, but no schools.

It says what became of a trust since a membership extract: a trust closed since April 2017 is closed here.
dim_trust takes each trust's name, reference, status and dates from the newest register (school_dimensions).
Its address and head-of-group columns are not read.
"""

from __future__ import annotations

import polars as pl

from sendflow.transforms.common import (
    SOURCE_ROW,
    CellKind,
    Layout,
    SourceInfo,
    cell_value,
    cells,
    code_text,
    extract_date,
    harmonise_columns,
    invalid_cells,
    parse_cells,
)

DATED = ("Open date", "Closed Date", "Incorporated on (open date)")

ALL_GROUPS = Layout(
    name="gias_all_groups",
    dataset="group_register",
    description="GIAS all-groups register (allgroupsdata): one row per group, no establishments",
    required=("Group UID", "Group ID", "Group Name", "Group Type", "Group Status", "Incorporated on (open date)"),
    optional=(
        "Companies House Number",
        "Group Type (code)",
        "Closed Date",
        "Open date",
        "Group Status (code)",
        "UKPRN",
    ),
    year_from="snapshot",
    cells=cells(CellKind.DATE, *DATED),
)
LAYOUTS: tuple[Layout, ...] = (ALL_GROUPS,)


def group_register_snapshot(raw: pl.DataFrame, source: SourceInfo) -> pl.DataFrame:
    """One row per group, as at the register's date (from its name, else its newest open date)."""
    frame = parse_cells(harmonise_columns(raw, ALL_GROUPS), ALL_GROUPS)
    snapshot = extract_date(frame, source, "Open date", "all-groups register")
    return frame.select(
        code_text("Group UID").alias("group_uid"),
        pl.lit(snapshot, dtype=pl.Date).alias("snapshot_date"),
        code_text("Group ID").alias("group_ref"),
        pl.col("Group Name").str.strip_chars().alias("group_name"),
        pl.col("Group Type").str.strip_chars().alias("group_type"),
        pl.col("Group Status").str.strip_chars().alias("group_status"),
        code_text("Companies House Number").alias("companies_house_number"),
        cell_value("Open date").alias("open_date"),
        cell_value("Closed Date").alias("closed_date"),
        cell_value("Incorporated on (open date)").alias("incorporated_on"),
        code_text("UKPRN").alias("ukprn"),
        invalid_cells(DATED),
        pl.col(SOURCE_ROW),
    )


def build(raw: pl.DataFrame, source: SourceInfo) -> dict[str, pl.DataFrame]:
    return {"group_register_snapshot": group_register_snapshot(raw, source)}
