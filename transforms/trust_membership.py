"""Trust membership from GIAS group-links extracts: which school belonged to which academy trust, when.

Each extract lists every establishment's current groups (trusts, federations, sponsors...) with the date
it joined. Several extracts over time give the history: a membership starts on its joined date and ends
when the school joins another trust, or, failing that, at the first extract that no longer lists it.
"""

from __future__ import annotations

import polars as pl

from sendflow.core.vocabulary import ACADEMY_TRUST_TYPES
from sendflow.transforms.common import (
    INVALID_CELLS,
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

GROUP_LINKS = Layout(
    name="gias_group_links",
    dataset="trust_membership",
    description="GIAS all-group links extract (establishment to trust, federation, sponsor)",
    required=("URN", "Group UID", "Group ID", "Group Name", "Group Type", "Joined date"),
    optional=(
        "Companies House Number",
        "Group Type (code)",
        "Closed Date",
        "Open date",
        "Incorporated on (open date)",
        "Group Status (code)",
        "Group Status",
        "EstablishmentName",
        "TypeOfEstablishment (name)",
        "PhaseOfEducation (name)",
        "LA (code)",
    ),
    year_from="snapshot",
    cells=cells(CellKind.DATE, "Joined date", "Open date", "Closed Date"),
)
# GIAS's academy sponsor and trust links as published in 2017: 'Linked UID' where today's says 'Group UID', no
# Group ID, open date or status code, and a last column (HasSharedHT) that no data row carries.
ACADEMY_LINKS_2017 = Layout(
    name="gias_academy_links_2017",
    dataset="trust_membership",
    description="GIAS academy sponsor and trust links extract, 2017 layout (Linked UID, no Group ID)",
    required=("URN", "Linked UID", "Group Name", "Group Type", "Joined date", "FederationType"),
    optional=(
        "Companies House Number",
        "Closed Date",
        "Group Status",
        "EstablishmentName",
        "TypeOfEstablishment (name)",
        "PhaseOfEducation (name)",
        "LA (code)",
        "HasSharedHT",
    ),
    year_from="snapshot",
    cells=cells(CellKind.DATE, "Joined date", "Closed Date"),
    omitted_trailing=("HasSharedHT",),
)
LAYOUTS: tuple[Layout, ...] = (GROUP_LINKS, ACADEMY_LINKS_2017)
_BY_NAME = {layout.name: layout for layout in LAYOUTS}


SNAPSHOT_COLUMNS = (
    "urn", "snapshot_date", "group_uid", "group_ref", "group_name", "group_type", "group_status",
    "companies_house_number", "joined_date", "group_open_date", "group_closed_date", "school_name",
    "establishment_type", "phase", "la_code", INVALID_CELLS, SOURCE_ROW,
)  # fmt: skip


def trust_membership_snapshot(raw: pl.DataFrame, source: SourceInfo) -> pl.DataFrame:
    """One row per establishment per group it belongs to, as at the extract's date, whichever layout."""
    layout = _BY_NAME[source.layout]
    frame = harmonise_columns(raw, layout)
    if layout is ACADEMY_LINKS_2017:  # today's names for the same facts; what 2017 did not publish is NULL
        frame = frame.rename({"Linked UID": "Group UID"})
        frame = frame.with_columns(
            pl.lit(None, dtype=pl.String).alias(column) for column in GROUP_LINKS.columns if column not in frame.columns
        )
    frame = parse_cells(frame, GROUP_LINKS)
    snapshot = extract_date(frame, source, "Joined date", "group-links extract")
    return frame.select(
        code_text("URN").alias("urn"),
        pl.lit(snapshot, dtype=pl.Date).alias("snapshot_date"),
        code_text("Group UID").alias("group_uid"),
        code_text("Group ID").alias("group_ref"),
        pl.col("Group Name").str.strip_chars().alias("group_name"),
        pl.col("Group Type").str.strip_chars().alias("group_type"),
        pl.col("Group Status").str.strip_chars().alias("group_status"),
        code_text("Companies House Number").alias("companies_house_number"),
        cell_value("Joined date").alias("joined_date"),
        cell_value("Open date").alias("group_open_date"),
        cell_value("Closed Date").alias("group_closed_date"),
        pl.col("EstablishmentName").str.strip_chars().alias("school_name"),
        pl.col("TypeOfEstablishment (name)").str.strip_chars().alias("establishment_type"),
        pl.col("PhaseOfEducation (name)").str.strip_chars().alias("phase"),
        code_text("LA (code)").alias("la_code"),
        invalid_cells(column for column, _ in GROUP_LINKS.cells),
        pl.col(SOURCE_ROW),
    )


def trust_memberships(snapshots: pl.DataFrame) -> pl.DataFrame:
    """urn, trust_id, member_from, member_to (exclusive; NULL while still a member) for academy trusts."""
    schema = {"urn": pl.String, "trust_id": pl.String, "member_from": pl.Date, "member_to": pl.Date}
    if snapshots.is_empty():
        return pl.DataFrame(schema=schema)
    # Academy trusts are the trusts of dim_trust; federations, sponsors and foundation trusts are other groups.
    academy = snapshots.filter(pl.col("group_type").is_in(ACADEMY_TRUST_TYPES))
    if academy.is_empty():
        return pl.DataFrame(schema=schema)
    extract_dates = snapshots.select(pl.col("snapshot_date").unique().sort()).to_series()
    spans = (
        academy.group_by("urn", pl.col("group_uid").alias("trust_id"))
        .agg(
            pl.coalesce(pl.col("joined_date").min(), pl.col("snapshot_date").min()).alias("member_from"),
            pl.col("snapshot_date").max().alias("last_listed"),
        )
        .sort("urn", "member_from")
    )
    # The first extract after the last one that listed the membership, if any, shows it had ended.
    ended = spans.sort("last_listed").join_asof(
        pl.DataFrame({"dropped_by": extract_dates, "after": extract_dates}).sort("after"),
        left_on="last_listed", right_on="after", strategy="forward", allow_exact_matches=False,
    )  # fmt: skip
    spans = ended.sort("urn", "member_from").with_columns(
        pl.min_horizontal(pl.col("member_from").shift(-1).over("urn"), pl.col("dropped_by")).alias("member_to")
    )
    return spans.select(pl.col(column).cast(dtype) for column, dtype in schema.items())


def build(raw: pl.DataFrame, source: SourceInfo) -> dict[str, pl.DataFrame]:
    return {"trust_membership_snapshot": trust_membership_snapshot(raw, source)}
