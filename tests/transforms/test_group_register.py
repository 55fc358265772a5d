"""The GIAS all-groups register: one typed row per group, and dim_trust's status and dates taken from it."""

from __future__ import annotations

from datetime import date

import polars as pl

from sendflow.transforms.common import INVALID_CELLS, SOURCE_ROW, SourceInfo
from sendflow.transforms.group_register import ALL_GROUPS, group_register_snapshot
from sendflow.transforms.school_dimensions import dim_trust

COLUMNS = (
    "Group UID", "Group ID", "Group Name", "Companies House Number", "Group Type", "Closed Date", "Open date",
    "Incorporated on (open date)", "Group Status", "UKPRN",
)  # fmt: skip
NO_REGISTER = pl.DataFrame(
    schema={"has_trust_info": pl.Boolean, "trust_id": pl.String, "trust_name": pl.String, "trust_type": pl.String,
            "snapshot_date": pl.Date}
)  # fmt: skip


def register(*rows: tuple[str, ...], day: date = date(2026, 2, 17)) -> pl.DataFrame:
    frame = pl.DataFrame([list(r) for r in rows], schema=dict.fromkeys(COLUMNS, pl.String), orient="row")
    raw = frame.with_row_index(SOURCE_ROW, offset=2).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))
    return group_register_snapshot(raw, SourceInfo(ALL_GROUPS.name, "allgroupsdata20260217.csv", snapshot_date=day))


MAT = ("16341", "TR01406", "COTSWOLD BEACON ACADEMY TRUST", "07692339", "Multi-academy trust", "", "",
       "04/07/2011", "Open", "10058992")  # fmt: skip
CLOSED_SAT = ("4782", "TR00055.old", "St Paul's Academy Limited", "05210075", "Single-academy trust", "31/03/2019",
              "", "01/09/2005", "Closed", "")  # fmt: skip


def test_codes_stay_text_and_dates_parse() -> None:
    row = register(MAT).row(0, named=True)

    assert (row["group_uid"], row["group_ref"], row["companies_house_number"], row["ukprn"]) == (
        "16341", "TR01406", "07692339", "10058992"
    )  # fmt: skip
    assert row["incorporated_on"] == date(2011, 7, 4) and row["open_date"] is None
    assert row["snapshot_date"] == date(2026, 2, 17) and row[INVALID_CELLS] is None


def test_an_unreadable_date_is_named_not_dropped() -> None:
    row = register((*MAT[:7], "4th July 2011", *MAT[8:])).row(0, named=True)

    assert row["incorporated_on"] is None and "Incorporated on (open date)" in row[INVALID_CELLS]


def test_dim_trust_takes_status_and_dates_from_the_newest_register_and_names_from_it_first() -> None:
    links = pl.DataFrame(
        {"group_uid": ["4782", "999"], "group_ref": [None, "TR00999"], "group_name": ["ST PAUL'S (2017)", "Gone"],
         "companies_house_number": ["05210075", None], "group_type": ["Single-academy trust", "Multi-academy trust"],
         "snapshot_date": [date(2017, 4, 3)] * 2}
    )  # fmt: skip
    older = register((*CLOSED_SAT[:5], "", "", CLOSED_SAT[7], "Open", ""), day=date(2018, 1, 1))
    newest = register(CLOSED_SAT, MAT, ("1000", "", "A federation", "", "Federation", "", "", "", "Open", ""))

    trusts = {row["trust_id"]: row for row in dim_trust(NO_REGISTER, links, pl.concat([older, newest])).to_dicts()}

    assert set(trusts) == {"4782", "999", "16341"}  # every trust either file names; no federation
    closed = trusts["4782"]
    assert (closed["trust_status"], closed["closed_date"], closed["register_date"]) == (
        "Closed", date(2019, 3, 31), date(2026, 2, 17)
    )  # fmt: skip
    assert (closed["trust_name"], closed["trust_ref"]) == ("St Paul's Academy Limited", "TR00055.old")
    assert trusts["999"]["trust_status"] is None and trusts["999"]["trust_name"] == "Gone"
    assert trusts["16341"]["ukprn"] == "10058992" and trusts["16341"]["incorporated_on"] == date(2011, 7, 4)
