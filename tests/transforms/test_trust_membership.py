"""GIAS group links: the snapshot transform and the membership spans drawn from several extracts."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from sendflow.transforms.common import INVALID_CELLS, SOURCE_ROW, SourceError, SourceInfo
from sendflow.transforms.trust_membership import (
    ACADEMY_LINKS_2017,
    GROUP_LINKS,
    build,
    trust_membership_snapshot,
    trust_memberships,
)

COLUMNS = ("URN", "Group UID", "Group ID", "Group Name", "Group Type", "Joined date", "Companies House Number")


def links(*rows: tuple[str, ...]) -> pl.DataFrame:
    frame = pl.DataFrame([list(r) for r in rows], schema=dict.fromkeys(COLUMNS, pl.String), orient="row")
    return frame.with_row_index(SOURCE_ROW, offset=2).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


def extract(day: date, *rows: tuple[str, ...]) -> pl.DataFrame:
    return trust_membership_snapshot(links(*rows), SourceInfo(GROUP_LINKS.name, "links.csv", snapshot_date=day))


A = ("5001", "TR00001", "Alpha Trust", "Multi-academy trust")
B = ("5002", "TR00002", "Beta Trust", "Multi-academy trust")
FEDERATION = ("7001", "FED0001", "Hill Federation", "Federation")


def test_snapshot_types_codes_and_dates() -> None:
    frame = extract(date(2024, 4, 1), ("140001", *A, "01-09-2019", "09876543"))

    row = frame.row(0, named=True)
    assert (row["urn"], row["group_uid"], row["group_ref"], row["group_type"]) == (
        "140001", "5001", "TR00001", "Multi-academy trust",
    )  # fmt: skip
    assert row["joined_date"] == date(2019, 9, 1) and row["snapshot_date"] == date(2024, 4, 1)
    assert row["companies_house_number"] == "09876543"  # leading zero kept


def test_undated_extract_takes_its_latest_joined_date() -> None:
    source = SourceInfo(GROUP_LINKS.name, "links.csv")
    frame = trust_membership_snapshot(links(("1", *A, "01-09-2019", ""), ("2", *A, "01-01-2021", "")), source)

    assert frame["snapshot_date"].unique().to_list() == [date(2021, 1, 1)]


def test_undatable_extract_is_a_source_error() -> None:
    with pytest.raises(SourceError):
        trust_membership_snapshot(links(("1", *A, "", "")), SourceInfo(GROUP_LINKS.name, "links.csv"))


def test_a_move_between_trusts_ends_the_first_membership_when_the_second_begins() -> None:
    snapshots = pl.concat(
        [
            extract(date(2021, 1, 15), ("140001", *A, "01-09-2019", "")),
            extract(date(2023, 1, 15), ("140001", *B, "01-04-2022", "")),
        ]
    )

    spans = trust_memberships(snapshots).sort("member_from")

    assert spans.rows() == [
        ("140001", "5001", date(2019, 9, 1), date(2022, 4, 1)),
        ("140001", "5002", date(2022, 4, 1), None),
    ]


def test_a_school_missing_from_a_later_extract_left_by_that_extract() -> None:
    snapshots = pl.concat(
        [
            extract(date(2021, 1, 15), ("140001", *A, "01-09-2019", ""), ("140002", *A, "01-09-2019", "")),
            extract(date(2023, 1, 15), ("140002", *A, "01-09-2019", "")),
        ]
    )

    spans = dict(((u, t), (f, e)) for u, t, f, e in trust_memberships(snapshots).rows())

    assert spans[("140001", "5001")] == (date(2019, 9, 1), date(2023, 1, 15))
    assert spans[("140002", "5001")] == (date(2019, 9, 1), None)


def test_federations_and_sponsors_are_not_trust_memberships() -> None:
    snapshots = extract(date(2023, 1, 15), ("140001", *FEDERATION, "01-09-2019", ""), ("140002", *B, "", ""))

    spans = trust_memberships(snapshots)

    assert spans["urn"].to_list() == ["140002"]
    assert spans["member_from"].to_list() == [date(2023, 1, 15)]  # no joined date: first seen


def test_build_returns_the_snapshot_table() -> None:
    built = build(
        links(("140001", *A, "01-09-2019", "")), SourceInfo(GROUP_LINKS.name, "x.csv", snapshot_date=date(2024, 1, 1))
    )
    assert list(built) == ["trust_membership_snapshot"]


def test_an_unreadable_joined_date_is_named_in_invalid_cells() -> None:
    frame = extract(
        date(2024, 4, 1), ("140001", *A, "01-09-2019", "1"), ("140002", *A, "2019-13-01", "2"), ("140003", *A, "", "3")
    )
    assert frame["joined_date"].to_list() == [date(2019, 9, 1), None, None]
    assert frame[INVALID_CELLS].to_list() == [None, "Joined date", None]  # a blank date is no junk


def test_the_2017_layout_gives_the_same_snapshot_columns_and_only_trusts_become_members() -> None:
    columns = ("URN", "Linked UID", "Group Name", "Group Type", "FederationType", "Joined date", "LA (code)")
    rows = [
        ("105135", "2150", "Archdiocese of Southwark", "School sponsor", "", "01-09-2005", "203"),
        ("105135", "4782", "St Paul's Academy Limited", "Single-academy trust", "", "01-09-2005", "203"),
        ("140001", "9000", "Some Umbrella", "Umbrella trust", "", "01-09-2015", "202"),
    ]
    raw = pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String), orient="row")
    raw = raw.with_row_index(SOURCE_ROW, offset=2).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))

    snapshot = trust_membership_snapshot(
        raw, SourceInfo(ACADEMY_LINKS_2017.name, "grouplinks_edubaseallacademiesandfree20170403.csv",
                        snapshot_date=date(2017, 4, 3))
    )  # fmt: skip

    assert snapshot.columns == trust_membership_snapshot(links(("140001", *A, "", "")), SourceInfo(
        GROUP_LINKS.name, "links.csv", snapshot_date=date(2024, 4, 1))).columns  # fmt: skip
    assert snapshot.select("group_uid", "group_ref", "group_type").rows()[1] == ("4782", None, "Single-academy trust")
    assert snapshot["joined_date"].to_list() == [date(2005, 9, 1), date(2005, 9, 1), date(2015, 9, 1)]
    assert trust_memberships(snapshot).select("urn", "trust_id").rows() == [("105135", "4782")]
