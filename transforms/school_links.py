"""GIAS establishment links: predecessor and successor URNs (a conversion to academy gets a new URN).

In the extract, LinkType describes the linked establishment's role: for URN 100012 a 'Successor' link to
100021 means 100021 succeeded 100012.
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

ESTABLISHMENT_LINKS = Layout(
    name="gias_establishment_links",
    dataset="school_links",
    description="GIAS establishment links extract (predecessor and successor URNs)",
    required=("URN", "LinkURN", "LinkName", "LinkType", "LinkEstablishedDate"),
    year_from="snapshot",
    cells=cells(CellKind.DATE, "LinkEstablishedDate"),
)
LAYOUTS: tuple[Layout, ...] = (ESTABLISHMENT_LINKS,)


def school_link(raw: pl.DataFrame, source: SourceInfo) -> pl.DataFrame:
    """One row per link of an establishment, as at the extract's date."""
    frame = parse_cells(harmonise_columns(raw, ESTABLISHMENT_LINKS), ESTABLISHMENT_LINKS)
    snapshot = extract_date(frame, source, "LinkEstablishedDate", "links extract")
    return frame.select(
        code_text("URN").alias("urn"),
        code_text("LinkURN").alias("link_urn"),
        pl.lit(snapshot, dtype=pl.Date).alias("snapshot_date"),
        pl.col("LinkName").str.strip_chars().alias("link_name"),
        pl.col("LinkType").str.strip_chars().alias("link_type"),
        cell_value("LinkEstablishedDate").alias("link_established_date"),
        invalid_cells(["LinkEstablishedDate"]),
        pl.col(SOURCE_ROW),
    )


def school_lineage(links: pl.DataFrame) -> pl.DataFrame:
    """urn, predecessor_urn, successor_urn, lineage_urn from the latest extract's one-to-one links.

    lineage_urn follows successors to the newest URN, so every version of a converted school, under its
    old and new URNs, shares one lineage_urn. Splits and amalgamations (several links) are not followed.
    """
    schema = {"urn": pl.String, "predecessor_urn": pl.String, "successor_urn": pl.String, "lineage_urn": pl.String}
    if links.is_empty():
        return pl.DataFrame(schema=schema)
    latest = links.filter(pl.col("snapshot_date") == pl.col("snapshot_date").max())

    def single(kind: str, alias: str) -> pl.DataFrame:
        typed = latest.filter(pl.col("link_type") == kind).unique(["urn", "link_urn"])
        return typed.filter(pl.len().over("urn") == 1).select("urn", pl.col("link_urn").alias(alias))

    successors = single("Successor", "successor_urn")
    predecessors = single("Predecessor", "predecessor_urn")
    urns = pl.concat([latest.select("urn"), latest.select(pl.col("link_urn").alias("urn"))]).unique()
    frame = urns.join(predecessors, on="urn", how="left").join(successors, on="urn", how="left")
    step = dict(successors.iter_rows())
    lineage = []
    for urn in frame["urn"]:
        seen, current = {urn}, urn
        while current in step and step[current] not in seen:  # guard against cycles in bad data
            current = step[current]
            seen.add(current)
        lineage.append(current)
    return frame.with_columns(pl.Series("lineage_urn", lineage, dtype=pl.String)).select(schema.keys())


def build(raw: pl.DataFrame, source: SourceInfo) -> dict[str, pl.DataFrame]:
    return {"school_link": school_link(raw, source)}
