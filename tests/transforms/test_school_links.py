"""GIAS establishment links: the link rows and the lineage that joins a converted school's URNs."""

from __future__ import annotations

from datetime import date

import polars as pl

from sendflow.transforms.common import INVALID_CELLS, SOURCE_ROW, SourceInfo
from sendflow.transforms.school_links import ESTABLISHMENT_LINKS, build, school_lineage, school_link

COLUMNS = ("URN", "LinkURN", "LinkName", "LinkType", "LinkEstablishedDate")


def links(*rows: tuple[str, ...], day: date = date(2025, 4, 22)) -> pl.DataFrame:
    frame = pl.DataFrame([list(r) for r in rows], schema=dict.fromkeys(COLUMNS, pl.String), orient="row")
    raw = frame.with_row_index(SOURCE_ROW, offset=2).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))
    return school_link(raw, SourceInfo(ESTABLISHMENT_LINKS.name, "links.csv", snapshot_date=day))


def test_link_rows_keep_codes_and_parse_dates() -> None:
    frame = links(("100012", "100021", "Rhyl Community Primary School", "Successor - merged", "31-08-2021"))

    row = frame.row(0, named=True)
    assert (row["urn"], row["link_urn"], row["link_type"]) == ("100012", "100021", "Successor - merged")
    assert row["link_established_date"] == date(2021, 8, 31)
    assert row["snapshot_date"] == date(2025, 4, 22)


def test_lineage_follows_successors_to_the_newest_urn() -> None:
    frame = links(
        ("100001", "140001", "Oak Academy", "Successor", "01-09-2015"),
        ("140001", "100001", "Oak School", "Predecessor", "01-09-2015"),
        ("140001", "150001", "Oak Academy (Beta)", "Successor", "01-09-2024"),
        ("150001", "140001", "Oak Academy", "Predecessor", "01-09-2024"),
    )

    lineage = {row[0]: row[1:] for row in school_lineage(frame).rows()}

    assert lineage["100001"] == (None, "140001", "150001")
    assert lineage["140001"] == ("100001", "150001", "150001")
    assert lineage["150001"] == ("140001", None, "150001")


def test_a_split_is_not_followed() -> None:
    frame = links(
        ("100001", "140001", "North Site", "Successor", "01-09-2015"),
        ("100001", "140002", "South Site", "Successor", "01-09-2015"),
    )

    lineage = {row[0]: row[3] for row in school_lineage(frame).rows()}

    assert lineage["100001"] == "100001"


def test_a_cycle_in_bad_data_does_not_hang() -> None:
    frame = links(("100001", "100002", "B", "Successor", ""), ("100002", "100001", "A", "Successor", ""))

    assert school_lineage(frame).height == 2


def test_only_the_latest_extract_counts() -> None:
    old = links(("100001", "140001", "Oak", "Successor", "01-09-2015"), day=date(2023, 4, 21))
    new = links(("100001", "140009", "Oak", "Successor", "01-09-2015"))

    lineage = {row[0]: row[2] for row in school_lineage(pl.concat([old, new])).rows()}

    assert lineage["100001"] == "140009"


def test_build_returns_the_link_table() -> None:
    raw = pl.DataFrame({c: ["100001"] if "URN" in c else ["x"] for c in COLUMNS}).with_columns(
        pl.lit(2, dtype=pl.Int64).alias(SOURCE_ROW)
    )
    assert list(build(raw, SourceInfo(ESTABLISHMENT_LINKS.name, "l.csv", snapshot_date=date(2025, 1, 1)))) == [
        "school_link"
    ]


def test_an_unreadable_link_date_is_named_in_invalid_cells() -> None:
    frame = links(
        ("100012", "100021", "Rhyl", "Successor", "31/08/21"), ("100013", "100022", "Prestatyn", "Successor", "")
    )
    assert frame["link_established_date"].to_list() == [None, None]
    assert frame[INVALID_CELLS].to_list() == ["LinkEstablishedDate", None]
