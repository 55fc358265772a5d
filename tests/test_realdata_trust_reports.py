"""Real trusts reported from the files as published: GIAS's academy links of 3 April 2017, the all-groups
register of 17 February 2026, GIAS's establishment links and the real 2018-19 and 2023-24 school census.

Three trusts are picked here from the data (the largest multi-academy trust, one closed since 2017, one of
middling size); each page's figures are checked against SQL written here over the census and the membership
itself (trust_membership, not dim_school), and its unmatched member schools against the extract."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from sendflow.loading.file_load import Context, ingest_path
from sendflow.reports import html
from sendflow.reports.read import ReportError, read_trust_years
from sendflow.reports.write import index_entries, write_trust_report
from sendflow.warehouse.ledger import query
from tests.reports.pages import page_cells

pytestmark = pytest.mark.realdata

FILES = (
    "gias/grouplinks_edubaseallacademiesandfree20170403.csv",
    "gias/allgroupsdata20260217.csv",
    "gias/links_edubasealldata20250422.csv",
    "sen_school_level/perf_tables_england_census_2018-19.csv",
    "sen_school_level/perf_tables_england_census_2023-24.csv",
)
YEAR = "2018/19"
EXTRACT = "2017-04-03"
COMPLETE = "c.total_pupils IS NOT NULL AND c.ehc_plan IS NOT NULL AND c.sen_support IS NOT NULL"
# Members on the census day, straight from the extract's spans.
MEMBER_ON_CENSUS_DAY = "m.member_from <= c.census_date AND (m.member_to IS NULL OR m.member_to > c.census_date)"


@pytest.fixture
def loaded(real_data: Path, context: Context) -> Context:
    for name in FILES:
        outcome = ingest_path(real_data / name, None, context)
        assert outcome.status == "loaded", outcome.message
    return context


def _mats_by_schools(context: Context) -> list[dict]:
    return query(
        context.warehouse,
        f"""
        SELECT m.trust_id, t.trust_status, t.closed_date, COUNT(*) AS schools
        FROM fct_school_census c
        JOIN trust_membership m ON m.urn = c.urn AND {MEMBER_ON_CENSUS_DAY}
        JOIN dim_trust t ON t.trust_id = m.trust_id
        WHERE c.academic_year = '{YEAR}' AND {COMPLETE} AND t.trust_type = 'Multi-academy trust'
        GROUP BY m.trust_id, t.trust_status, t.closed_date
        ORDER BY schools DESC, m.trust_id
        """,
    ).to_dicts()


def _picked(mats: list[dict]) -> dict[str, str]:
    largest = mats[0]["trust_id"]
    closed = next(m["trust_id"] for m in mats if m["trust_status"] == "Closed" and m["schools"] >= 3)
    sized = [m for m in mats if m["trust_id"] not in (largest, closed) and m["schools"] >= 3]
    return {"largest": largest, "closed since": closed, "mid-sized": sized[len(sized) // 2]["trust_id"]}


def _expected(context: Context, trust_id: str) -> dict[str, int]:
    return query(
        context.warehouse,
        f"""
        SELECT COUNT(*) AS schools, SUM(c.total_pupils) AS total_pupils, SUM(c.ehc_plan) AS ehc_plan,
               SUM(c.sen_support) AS sen_support
        FROM fct_school_census c JOIN trust_membership m ON m.urn = c.urn AND {MEMBER_ON_CENSUS_DAY}
        WHERE m.trust_id = ? AND c.academic_year = '{YEAR}' AND {COMPLETE}
        """,
        [trust_id],
    ).row(0, named=True)


def _unmatched(context: Context, trust_id: str) -> set[str]:
    """Members on the extract's own day whose URN the 2018-19 census does not have."""
    frame = query(
        context.warehouse,
        f"""
        SELECT m.urn FROM trust_membership m
        WHERE m.trust_id = ? AND m.member_from <= '{EXTRACT}' AND (m.member_to IS NULL OR m.member_to > '{EXTRACT}')
          AND m.urn NOT IN (SELECT urn FROM fct_school_census WHERE academic_year = '{YEAR}')
        """,
        [trust_id],
    )
    return set(frame["urn"].cast(str).to_list())


def test_three_real_trusts_pages_equal_sql_over_the_census_and_the_membership(loaded: Context, tmp_path: Path) -> None:
    options = loaded.settings.report_options
    picked = _picked(_mats_by_schools(loaded))
    print({kind: trust_id for kind, trust_id in picked.items()})
    for kind, trust_id in picked.items():
        files = write_trust_report(loaded.warehouse, trust_id, None, tmp_path / trust_id, options)
        page = files.html.read_text(encoding="utf-8")
        cells = page_cells(page)
        (row,) = [r for r in cells["trust_by_year"] if r["academic_year"] == YEAR]
        expected = _expected(loaded, trust_id)
        shown = {column: int(float(row[column])) for column in expected}
        assert shown == expected, f"{kind} trust {trust_id}"
        assert "membership as at 3 April 2017 (GIAS group links), 21 months before the census day" in page
        # 2023/24's membership would be 81 months old: not reported as the trust's, but said.
        assert [r["academic_year"] for r in cells["trust_by_year"]] == [YEAR]
        assert "2023/24 is not reported as the trust&#x27;s" in page and "81 months before the census day" in page
        missing = _unmatched(loaded, trust_id)
        listed = {r["urn"]: r["reason"] for r in cells.get("unmatched_schools", [])}
        assert set(listed) == missing, f"{kind} trust {trust_id}"
        assert all(reason.startswith("not in the census") for reason in listed.values())
        standing = {r["measure"]: r for r in cells["peer_standing"]}
        assert int(standing["EHC plan %"]["peer_trusts"]) > 1_000  # among every real MAT reported for 2018/19
        if kind == "closed since":
            assert "Closed since" in page
        with pytest.raises(ReportError, match="81 months before the census day"):
            write_trust_report(loaded.warehouse, trust_id, "2023/24", tmp_path / "stale", options)


def test_the_index_lists_every_trust_once_and_links_only_the_reports_written(loaded: Context) -> None:
    """The index of `write_all_trust_reports`, on the real trusts: every MAT and SAT with a 2018/19 census
    once, MATs linked, SATs on request, 2023/24 listed as left out with its reason. (Writing all ~1,200 pages
    takes minutes: the closing note measures that run; here two links stand for the pages written.)"""
    years = read_trust_years(loaded.warehouse, loaded.settings.report_max_membership_age_months)
    mats = _mats_by_schools(loaded)
    hrefs = {m["trust_id"]: f"trust-{m['trust_id']}/page.html" for m in mats[:2]}
    entries = index_entries(years, dict.fromkeys(hrefs, YEAR), hrefs)
    page = html.index_page(entries, date(2026, 12, 4), loaded.settings.report_max_membership_age_months)
    rows = page_cells(page)["index"]

    assert len(rows) == len({r["trust_id"] for r in rows}) == years["trust_id"].n_unique()
    # A trust with no school in the 2018/19 census is listed at 2023/24, whose membership is too old: no link.
    stale = [e for e in entries if e["academic_year"] != YEAR]
    assert stale and all(e["academic_year"] == "2023/24" and e["left_out_reason"] and not e["href"] for e in stale)
    kinds = {r["trust_type"] for r in rows}
    assert kinds == {"Multi-academy trust", "Single-academy trust"}
    assert sum(r["trust_type"] == "Multi-academy trust" for r in rows) == len(mats)
    assert page.count('href="trust-') == 2
    assert "report on request: sendflow report --trust" in page
    assert page_cells(page)["left_out"] and "81 months before the census day" in page
    largest = next(r for r in rows if r["trust_id"] == mats[0]["trust_id"])
    assert float(largest["ehc_plan_pct_percentile"]) >= 0 and largest["ehc_plan_gap_england_pp"] != ""
    ranked = [r for r in rows if r["ehc_plan_pct_rank"]]
    assert {int(r["ehc_plan_pct_rank"]) for r in ranked} <= set(range(1, len(ranked) + 1))
    assert min(int(r["ehc_plan_pct_rank"]) for r in ranked) == 1
    assert '<input id="search"' in page and "<script>" in page
