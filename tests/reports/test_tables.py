"""The report's tables and readings from small frames: weighting, flags, indexing, suppression, shares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import polars as pl
import pytest

from sendflow.core.vocabulary import NEED_CODES
from sendflow.reports.model import TrustData
from sendflow.reports.report import trust_report
from sendflow.reports.sections.funding import la_funding
from sendflow.reports.sections.pupil_returns import need_by_year_group, reconciliation, year_group_shares
from sendflow.reports.sections.schools import school_needs, schools
from sendflow.reports.sections.trust import trust_by_year

YEAR = "2023/24"
STATUS = {"total_pupils_status": pl.String, "ehc_plan_status": pl.String, "sen_support_status": pl.String}


def members(rows: list[tuple], needs: Mapping[str, Sequence[int | None]] | None = None) -> pl.DataFrame:
    """(urn, year, la_code, name, pupils, ehc, sen support) per member school."""
    frame = pl.DataFrame(
        [
            {"urn": u, "academic_year": y, "la_code": la, "la_name": f"LA {la}", "school_name": name,
             "school_type": "State-funded primary", "total_pupils": n, "total_pupils_status": None, "ehc_plan": e,
             "ehc_plan_status": None if e is not None else "c", "sen_support": k, "sen_support_status": None,
             "ehc_plan_pct": None if e is None else 100 * e / n, "sen_support_pct": 100 * k / n}
            for u, y, la, name, n, e, k in rows
        ],
        schema_overrides=STATUS,
    )  # fmt: skip
    for column, values in (needs or {}).items():
        frame = frame.with_columns(pl.Series(column, values, dtype=pl.Int64))
    return frame


def la_census(rows: list[tuple]) -> pl.DataFrame:
    """(la_code, year, pupils, ehc, sen support) per LA."""
    return pl.DataFrame(
        [{"la_code": la, "academic_year": y, "total_pupils": n, "ehc_plan": e, "sen_support": k,
          "ehc_plan_pct": 100 * e / n, "sen_support_pct": 100 * k / n} for la, y, n, e, k in rows]
    )  # fmt: skip


NATIONAL = pl.DataFrame(
    {"academic_year": [YEAR], "schools": [24_000], "ehc_plan_pct": [4.5], "sen_support_pct": [13.0]}
)


def data(member_frame: pl.DataFrame, la: pl.DataFrame, funding: pl.DataFrame | None = None, **kwargs: Any) -> TrustData:
    """TrustData of one trust in YEAR; `kwargs` are its other fields (pupil_counts, reconciliation, ...)."""
    funding = pl.DataFrame() if funding is None else funding
    return TrustData("1", "Trust", None, None, YEAR, member_frame, la, NATIONAL, funding, **kwargs)


def test_the_las_rate_is_weighted_by_the_trusts_own_pupils_there() -> None:
    frame = members([("1", YEAR, "202", "A", 300, 6, 30), ("2", YEAR, "202", "B", 100, 4, 10),
                     ("3", YEAR, "940", "C", 600, 30, 90), ("4", YEAR, "940", "D", 50, None, 5)])  # fmt: skip
    la = la_census([("202", YEAR, 10_000, 300, 1_200), ("940", YEAR, 20_000, 1_000, 2_000)])

    row = trust_by_year(data(frame, la)).frame.row(0, named=True)

    # School D publishes no EHC count, so it is left out of every count and rate, as the views do.
    assert (row["schools"], row["total_pupils"], row["ehc_plan"], row["sen_support"]) == (3, 1000, 40, 130)
    assert row["ehc_plan_pct"] == pytest.approx(4.0)
    assert row["la_ehc_plan_pct"] == pytest.approx(100 * (400 * 0.03 + 600 * 0.05) / 1000)  # 4.2, not 4.0
    assert row["la_sen_support_pct"] == pytest.approx(100 * (400 * 0.12 + 600 * 0.10) / 1000)
    assert row["national_ehc_plan_pct"] == 4.5


def test_schools_are_flagged_at_the_distance_either_way() -> None:
    frame = members(
        [("1", YEAR, "202", "Above", 100, 9, 10), ("2", YEAR, "202", "Just inside", 1000, 89, 100),
         ("3", YEAR, "202", "Below", 100, 4, 5), ("4", YEAR, "202", "Unpublished", 100, None, 10)]
    )  # fmt: skip
    la = la_census([("202", YEAR, 1000, 40, 100)])  # 4% and 10%

    table = schools(data(frame, la), 5.0)
    flags = dict(zip(table.frame["school_name"], table.frame["flag"], strict=True))

    assert flags == {"Above": "EHC plans above LA", "Just inside": None, "Below": "SEN support below LA",
                     "Unpublished": None}  # fmt: skip
    unpublished = table.frame["school_name"].to_list().index("Unpublished")
    assert table.shown(unpublished, "ehc_plan") == "c"  # the publisher's own symbol, as published
    assert table.frame["school_type"][0] == "primary"


def test_primary_needs_appear_only_where_the_census_has_them() -> None:
    plain = members([("1", YEAR, "202", "A", 100, 5, 10)])
    assert school_needs(data(plain, la_census([("202", YEAR, 1000, 40, 100)]))) is None

    needs: dict[str, list[int | None]]
    needs = {f"{kind}_primary_need_{code}": [None] for kind in ("ehc", "sen_support") for code in NEED_CODES}
    needs |= {"ehc_primary_need_asd": [3], "ehc_primary_need_semh": [2], "sen_support_primary_need_slcn": [10]}
    table = school_needs(data(members([("1", YEAR, "202", "A", 100, 5, 10)], needs), pl.DataFrame()))
    assert table is not None

    assert table.frame.select("provision", "pupils", "asd", "semh", "slcn").rows() == [
        ("EHC plan", 5, 3, 2, None), ("SEN support", 10, None, None, 10)
    ]  # fmt: skip


def test_plans_and_funding_are_indexed_to_the_first_year_with_both() -> None:
    funding = pl.DataFrame(
        {"la_code": ["202"] * 4, "la_name": ["Camden"] * 4,
         "financial_year": ["2020-21", "2021-22", "2022-23", "2023-24"],
         "ehcp_caseload": [1000.0, 1100.0, 1200.0, 1320.0], "high_needs_block_gbp": [None, None, 48e6, 50.4e6],
         "high_needs_gbp_per_ehcp": [None, None, 40_000.0, 50.4e6 / 1320],
         "high_needs_net_outturn_gbp": [None, None, None, 55.44e6]}
    )  # fmt: skip
    table = la_funding(data(pl.DataFrame(), pl.DataFrame(), funding=funding))
    rows = table.frame.select("financial_year", "base_year", "ehcp_index", "high_needs_index").rows()

    assert rows[0] == ("2020-21", "2022-23", None, None)  # before the base: no index
    assert rows[2] == ("2022-23", "2022-23", 100.0, 100.0)
    assert rows[3][2:] == (pytest.approx(110.0), pytest.approx(105.0))
    assert table.frame["outturn_pct_of_block"][3] == pytest.approx(110.0)
    assert table.frame["outturn_minus_block_gbp"][3] == pytest.approx(5.04e6)


def pupils(counts: list[tuple[str, str | None, str, int]]) -> pl.DataFrame:
    """(nc_year, primary_need, sen_provision, pupils)."""
    return pl.DataFrame(
        [{"urn": "1", "nc_year": y, "primary_need": n, "sen_provision": p, "pupils": c} for y, n, p, c in counts]
    )


def test_need_by_year_group_hides_small_counts_and_their_shares() -> None:
    counts = pupils([("7", "ASD", "E", 12), ("7", "ASD", "K", 10), ("7", "SEMH", "K", 3), ("7", None, "N", 500),
                     ("8", "ASD", "K", 15), ("8", "SEMH", "E", 20), ("R", "SLCN", "K", 2)])  # fmt: skip
    table = need_by_year_group(data(pl.DataFrame(), pl.DataFrame(), pupil_counts=counts, pupil_term="spring"), 10)
    assert table is not None

    assert table.frame["primary_need"].to_list() == ["ASD", "SEMH", "SLCN", "All SEN pupils"]
    assert [c.name for c in table.columns][1:] == ["R", "7", "8", "total"]
    grid = {(n, c): table.shown(i, c) for i, n in enumerate(table.frame["primary_need"]) for c in ("R", "7", "8")}
    assert grid[("SEMH", "7")] == "c" and grid[("SLCN", "R")] == "c"  # 3 and 2
    assert grid[("ASD", "7")] == "c"  # secondary: with the 3 hidden, 25 - 22 would give it
    assert table.shown(3, "R") == "c"  # the year group's total is 2
    assert table.shown(0, "total") == 37 and table.shown(3, "total") == 62

    shares = year_group_shares(table)
    r = shares.filter(pl.col("year_group") == "R")
    assert r["share"].is_null().all() and r["hidden_share"].is_null().all()  # no bar: its total is hidden
    eight = dict(zip(*shares.filter(pl.col("year_group") == "8").select("primary_need", "share"), strict=True))
    assert eight["ASD"] == pytest.approx(100 * 15 / 35) or eight["ASD"] is None
    for row in shares.iter_rows(named=True):
        i = table.frame["primary_need"].to_list().index(row["primary_need"])
        if table.shown(i, row["year_group"]) == "c":
            assert row["share"] is None  # a share of a hidden count would reveal it


def test_the_reconciliation_hides_a_difference_with_its_returned_count() -> None:
    rec = pl.DataFrame(
        {"school_name": ["A", "B", "C"], "urn": ["1", "2", "3"], "academic_year": [YEAR] * 3,
         "census_term": ["spring"] * 3, "pupils_returned": [400, 300, 98], "pupils_published": [400, 301, 98],
         "pupils_diff": [0, -1, 0], "ehc_plan_returned": [20, 15, 3], "ehc_plan_published": [20, 15, 3],
         "ehc_plan_diff": [0, 0, 0], "sen_support_returned": [50, 40, 12], "sen_support_published": [50, 40, 12],
         "sen_support_diff": [0, 0, 0]}
    )  # fmt: skip
    table = reconciliation(data(pl.DataFrame(), pl.DataFrame(), reconciliation=rec, pupil_term="spring"), 10)
    assert table is not None
    shown = {(table.frame["school_name"][i], c): table.shown(i, c) for i in range(4) for c in table.frame.columns}

    assert shown[("C", "ehc_plan_returned")] == "c" and shown[("C", "ehc_plan_diff")] == "c"
    assert shown[("C", "ehc_plan_published")] == 3  # published figures as published
    assert shown[("B", "ehc_plan_returned")] == "c" and shown[("B", "ehc_plan_diff")] == "c"  # secondary, 15
    assert shown[("Trust total", "ehc_plan_returned")] == 38
    assert shown[("Trust total", "pupils_diff")] == -1 and shown[("B", "pupils_diff")] == -1


def test_every_chart_has_a_one_line_reading_naming_its_numbers() -> None:
    frame = members([("1", "2018/19", "202", "A", 300, 6, 30), ("1", YEAR, "202", "A", 310, 12, 31)])
    la = la_census([("202", "2018/19", 10_000, 300, 1_200), ("202", YEAR, 10_000, 400, 1_300)])
    national = pl.DataFrame({"academic_year": ["2018/19", YEAR], "schools": [790, 790], "ehc_plan_pct": [2.8, 4.5],
                             "sen_support_pct": [11.1, 13.1]})  # fmt: skip
    trust = TrustData("1", "Trust", None, None, YEAR, frame, la, national, pl.DataFrame())

    report = trust_report(trust, 10, 5.0, date(2024, 6, 1))

    assert [chart.key for chart in report.charts] == ["trust_rates", "school_rates"]
    trust_reading = report.charts[0].reading
    assert "3.9% of the trust's 310 pupils had an EHC plan" in trust_reading and "rose 1.9 points" in trust_reading
    assert all("\n" not in c.reading and c.reading.endswith(".") for c in report.charts)
    funding = next(s for s in report.sections if s.key == "funding")
    assert any("No EHC plan or high-needs funding figures are loaded" in p for p in funding.paragraphs)
    assert "which is not all of England" in report.sections[0].paragraphs[0]  # 790 schools is not England
