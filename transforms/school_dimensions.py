"""dim_school and dim_trust, built from everything known about schools and trusts:

- register snapshots (performance-tables school information, GIAS establishments) give a school's
  attributes as at each snapshot date;
- GIAS group-links extracts give academy-trust membership with the dates schools joined;
- GIAS establishment links give predecessor and successor URNs, so a converted school's history under
  its old URN joins its history under the new one (lineage_urn).

Versions open wherever a tracked attribute or the trust changes: at register snapshot dates and at the
dates memberships begin and end. Before a school's first snapshot its first snapshot's attributes stand in.
"""

from __future__ import annotations

import polars as pl

from sendflow.core.vocabulary import ACADEMY_TRUST_TYPES
from sendflow.transforms.school_links import school_lineage
from sendflow.transforms.trust_membership import trust_memberships

# Group and phase are described, not tracked: GIAS and the performance tables word them differently
# ('Academies' / 'Academy'), so tracking them would open a version whenever the source switched.
TRACKED: tuple[str, ...] = (
    "laestab", "la_code", "school_name", "establishment_type", "school_status", "is_open", "open_date",
    "close_date", "trust_id",
)  # fmt: skip
ATTRIBUTES: tuple[str, ...] = (
    "laestab", "la_code", "school_name", "establishment_type", "establishment_group", "phase", "school_status",
    "is_open", "open_date", "close_date", "statutory_low_age", "statutory_high_age",
)  # fmt: skip
DIM_SCHOOL_COLUMNS: tuple[str, ...] = (
    "urn", "laestab", "la_code", "school_name", "establishment_type", "establishment_group", "phase",
    "school_status", "is_open", "open_date", "close_date", "trust_id", "statutory_low_age",
    "statutory_high_age", "valid_from", "valid_to", "is_current", "predecessor_urn", "successor_urn", "lineage_urn",
)  # fmt: skip
DIM_SCHOOL_SCHEMA: dict[str, pl.DataType] = {
    **dict.fromkeys(DIM_SCHOOL_COLUMNS, pl.String()),
    "is_open": pl.Boolean(), "is_current": pl.Boolean(), "open_date": pl.Date(), "close_date": pl.Date(),
    "valid_from": pl.Date(), "valid_to": pl.Date(), "statutory_low_age": pl.Int64(), "statutory_high_age": pl.Int64(),
}  # fmt: skip
_NO_TRUST = "\x00none"


def _register_trusts(snapshots: pl.DataFrame) -> pl.DataFrame:
    """Snapshots with each school's trust carried forward through snapshots that say nothing about trusts
    (performance tables), so they do not read as the school leaving its trust."""
    said = pl.when(pl.col("has_trust_info")).then(pl.col("trust_id").fill_null(_NO_TRUST))
    return snapshots.sort("urn", "snapshot_date").with_columns(
        said.forward_fill().over("urn").replace(_NO_TRUST, None).alias("trust_id")
    )


def _only_in_group_links(register: pl.DataFrame, membership_snapshots: pl.DataFrame) -> pl.DataFrame:
    """Establishments the group links know but no register snapshot does: described from the links."""
    known = register.select("urn").unique()
    latest = membership_snapshots.sort("snapshot_date").group_by("urn").last()
    extra = latest.join(known, on="urn", how="anti")
    return extra.select(
        "urn", "snapshot_date", "la_code", "school_name", "establishment_type", "phase",
        pl.lit(None, dtype=pl.String).alias("trust_id"),
    )  # fmt: skip


def _as_at(points: pl.DataFrame, register: pl.DataFrame) -> pl.DataFrame:
    """Each point's register attributes: the latest snapshot on or before it, else the first after it
    (then `backfilled`, and only the open and close dates say whether the school was open)."""
    keep = ["urn", "snapshot_date", *[c for c in (*ATTRIBUTES, "trust_id") if c in register.columns]]
    right = register.sort("snapshot_date").select(keep)
    points = points.sort("point")  # join_asof wants both sides in order of the dates it matches on
    before, after = (
        points.join_asof(
            right, left_on="point", right_on="snapshot_date", by="urn", strategy=strategy, check_sortedness=False
        )
        for strategy in ("backward", "forward")
    )
    filled = [pl.coalesce(before[c], after[c]).alias(c) for c in keep[2:]]
    states = before.select("urn", "point", before["snapshot_date"].is_null().alias("backfilled")).with_columns(filled)
    for column in ATTRIBUTES:
        if column not in states.columns:
            states = states.with_columns(pl.lit(None).cast(DIM_SCHOOL_SCHEMA[column]).alias(column))
    point = pl.col("point")
    within_dates = (pl.col("open_date").is_null() | (pl.col("open_date") <= point)) & (
        pl.col("close_date").is_null() | (point <= pl.col("close_date"))
    )
    is_open = pl.when(pl.col("backfilled")).then(within_dates).otherwise(pl.col("is_open") & within_dates)
    return states.with_columns(
        is_open.alias("is_open"),
        pl.when(pl.col("backfilled"))
        .then(pl.when(within_dates).then(pl.lit("Open")).otherwise(pl.lit("Closed")))
        .otherwise(pl.col("school_status"))
        .alias("school_status"),
    )


def _trust_at(points: pl.DataFrame, memberships: pl.DataFrame) -> pl.DataFrame:
    """urn, point, trust_id from membership spans (the latest-begun span covering the point)."""
    candidates = points.join(memberships, on="urn", how="inner").filter(
        (pl.col("member_from") <= pl.col("point"))
        & (pl.col("member_to").is_null() | (pl.col("point") < pl.col("member_to")))
    )
    return candidates.sort("member_from").group_by("urn", "point").agg(pl.col("trust_id").last().alias("member_of"))


def _change_points(register: pl.DataFrame, memberships: pl.DataFrame) -> pl.DataFrame:
    """Dates a school's state may change: snapshots, opening, the day after closing, joining and leaving."""
    dated = [
        register.select("urn", pl.col("snapshot_date").alias("point")),
        register.select("urn", pl.col("open_date").alias("point")),
        register.select("urn", (pl.col("close_date") + pl.duration(days=1)).alias("point")),
        memberships.select("urn", pl.col("member_from").alias("point")),
        memberships.select("urn", pl.col("member_to").alias("point")),
    ]
    points = pl.concat([frame.cast({"point": pl.Date}) for frame in dated]).drop_nulls().unique()
    # History runs from the first evidence about a school (an open date before it would date the history
    # from the school's founding) to the newest evidence about any school (a planned closure is not history).
    evidence = pl.concat([dated[0], dated[3]])
    first = evidence.group_by("urn").agg(pl.col("point").min().alias("first_known"))
    horizon = evidence["point"].max()
    within = (pl.col("point") >= pl.col("first_known")) & (pl.col("point") <= horizon)
    return points.join(first, on="urn").filter(within).select("urn", "point")


def dim_school(
    snapshots: pl.DataFrame,
    membership_snapshots: pl.DataFrame | None = None,
    links: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Type-2 school history from register snapshots, trust memberships and establishment links."""
    membership_snapshots = membership_snapshots if membership_snapshots is not None else pl.DataFrame()
    register = _register_trusts(snapshots) if not snapshots.is_empty() else snapshots
    if not membership_snapshots.is_empty():
        register = pl.concat([register, _only_in_group_links(register, membership_snapshots)], how="diagonal_relaxed")
    if register.is_empty():
        return pl.DataFrame(schema=DIM_SCHOOL_SCHEMA)
    memberships = trust_memberships(membership_snapshots)
    points = _change_points(register, memberships)
    states = _as_at(points, register).join(_trust_at(points, memberships), on=["urn", "point"], how="left")
    covered = memberships.select("urn").unique().with_columns(pl.lit(True).alias("in_group_links"))
    states = states.join(covered, on="urn", how="left").with_columns(
        # Group links say when a school was in which trust; else the register does. Closed schools are in none.
        pl.when(~pl.col("is_open").fill_null(True))
        .then(None)
        .when(pl.col("in_group_links"))
        .then(pl.col("member_of"))
        .otherwise(pl.col("trust_id"))
        .alias("trust_id")
    )
    fingerprint = pl.struct(list(TRACKED)).hash()
    versions = states.sort("urn", "point").filter((fingerprint != fingerprint.shift(1).over("urn")).fill_null(True))
    versions = versions.with_columns(
        pl.col("point").alias("valid_from"),
        pl.col("point").shift(-1).over("urn").alias("valid_to"),
    ).with_columns(pl.col("valid_to").is_null().alias("is_current"))
    lineage = school_lineage(links if links is not None else pl.DataFrame())
    versions = versions.join(lineage, on="urn", how="left").with_columns(
        pl.coalesce("lineage_urn", "urn").alias("lineage_urn")
    )
    return versions.select(pl.col(column).cast(DIM_SCHOOL_SCHEMA[column]) for column in DIM_SCHOOL_COLUMNS)


REGISTER_COLUMNS = ("trust_status", "open_date", "closed_date", "incorporated_on", "ukprn", "register_date")
DIM_TRUST_SCHEMA = {
    "trust_id": pl.String, "trust_ref": pl.String, "trust_name": pl.String, "companies_house_number": pl.String,
    "trust_type": pl.String, "trust_status": pl.String, "open_date": pl.Date, "closed_date": pl.Date,
    "incorporated_on": pl.Date, "ukprn": pl.String, "register_date": pl.Date,
}  # fmt: skip


def _as_trust_rows(groups: pl.DataFrame, rank: int) -> pl.DataFrame:
    """A GIAS group source's academy-trust rows in dim_trust's terms, with the rank its source wins by."""
    return groups.select(
        pl.col("group_uid").alias("trust_id"),
        pl.col("group_ref").alias("trust_ref"),
        pl.col("group_name").alias("trust_name"),
        "companies_house_number",
        pl.col("group_type").alias("trust_type"),
        "snapshot_date",
        pl.lit(rank).alias("source_rank"),
    )


def dim_trust(
    snapshots: pl.DataFrame, membership_snapshots: pl.DataFrame | None = None, registers: pl.DataFrame | None = None
) -> pl.DataFrame:
    """One row per academy trust any source names. For name, reference, Companies House number and type the
    newest all-groups register wins, then group links, then register snapshots (within a source the latest
    snapshot wins); status, dates and UKPRN come from the newest register that names the trust, so a trust
    closed since the membership extract says so."""
    from_register = snapshots.filter(pl.col("has_trust_info") & pl.col("trust_id").is_not_null()).select(
        "trust_id",
        pl.lit(None, dtype=pl.String).alias("trust_ref"),
        "trust_name",
        pl.lit(None, dtype=pl.String).alias("companies_house_number"),
        "trust_type",
        "snapshot_date",
        pl.lit(0).alias("source_rank"),
    )
    groups = [membership_snapshots, registers]  # ranked 1 and 2: a register outranks group links
    academy = [g.filter(pl.col("group_type").is_in(ACADEMY_TRUST_TYPES)) if g is not None else None for g in groups]
    frames = [from_register] + [_as_trust_rows(g, rank) for rank, g in enumerate(academy, start=1) if g is not None]
    trusts = academy[1] if academy[1] is not None and not academy[1].is_empty() else None
    combined = pl.concat(frames, how="diagonal_relaxed").sort("source_rank", "snapshot_date")
    latest = combined.group_by("trust_id").agg(
        *[pl.col(c).drop_nulls().last() for c in ("trust_ref", "trust_name", "companies_house_number", "trust_type")]
    )
    if trusts is not None:
        newest = trusts.sort("snapshot_date").group_by("group_uid").last()
        latest = latest.join(
            newest.select(
                pl.col("group_uid").alias("trust_id"), pl.col("group_status").alias("trust_status"), "open_date",
                "closed_date", "incorporated_on", "ukprn", pl.col("snapshot_date").alias("register_date"),
            ),
            on="trust_id", how="left",
        )  # fmt: skip
    return latest.select(
        pl.col(c).cast(t) if c in latest.columns else pl.lit(None, dtype=t).alias(c)
        for c, t in DIM_TRUST_SCHEMA.items()
    ).sort("trust_id")
