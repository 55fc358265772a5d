"""A trust among its peers (reports/peers.py and the peers section), from small frames: which years are
reported, ranks and percentiles computed here independently, the small-trust flag, the page's section."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from sendflow.core.vocabulary import TrustType
from sendflow.reports.model import TrustData
from sendflow.reports.peers import peer_rates, trust_years
from sendflow.reports.sections import peers
from tests.reports.test_tables import NATIONAL, YEAR, la_census, members

EXTRACT = date(2023, 4, 3)


def peer_summary(
    year: str,
    ehc: list[float],
    sen: list[float] | None = None,
    schools: list[int] | None = None,
    types: list[str | None] | None = None,
    age_months: int = 9,
) -> pl.DataFrame:
    """v_trust_send_summary rows (with trust_type) for trusts "1", "2", ... in `year`."""
    n = len(ehc)
    return pl.DataFrame(
        {
            "trust_id": [str(i + 1) for i in range(n)],
            "trust_name": [f"Trust {i + 1}" for i in range(n)],
            "trust_type": types or [TrustType.MULTI_ACADEMY.value] * n,
            "academic_year": [year] * n,
            "schools": schools or [5] * n,
            "total_pupils": [1_000] * n,
            "ehc_plan_pct": ehc,
            "sen_support_pct": sen or [10.0 + i for i in range(n)],
            "la_ehc_plan_pct": [4.0] * n,
            "national_ehc_plan_pct": [4.5] * n,
            "national_sen_support_pct": [13.0] * n,
            "membership_extract_date": [EXTRACT] * n,
            "membership_age_months": [age_months] * n,
        },
        schema_overrides={"trust_type": pl.String},
    )


def test_ranks_and_percentiles_count_the_years_reported_mats_only() -> None:
    ehc = [7.4, 3.0, 4.1, 3.0, 9.9, 1.0]
    types = [TrustType.MULTI_ACADEMY.value] * 4 + [TrustType.SINGLE_ACADEMY.value, None]
    years = trust_years(peer_summary(YEAR, ehc, types=types), 24)
    mats = [e for e, t in zip(ehc, types, strict=True) if t == TrustType.MULTI_ACADEMY]

    for row in years.iter_rows(named=True):
        value = row["ehc_plan_pct"]
        if row["trust_type"] != TrustType.MULTI_ACADEMY:
            assert row["ehc_plan_pct_rank"] is None and row["peer_trusts"] is None  # listed, never ranked
            continue
        assert row["ehc_plan_pct_rank"] == 1 + sum(v > value for v in mats)  # ties share the better rank
        assert row["ehc_plan_pct_percentile"] == pytest.approx(100 * sum(v < value for v in mats) / len(mats))
        assert row["peer_trusts"] == len(mats)
        assert row["ehc_plan_gap_england_pp"] == pytest.approx(value - 4.5)
        assert row["ehc_plan_gap_la_pp"] == pytest.approx(value - 4.0)


def test_a_year_whose_extract_is_older_than_the_setting_is_left_out_with_its_reason() -> None:
    old = trust_years(peer_summary(YEAR, [3.0, 4.0], age_months=81), 24)
    assert old["left_out_reason"].null_count() == 0
    reason = old["left_out_reason"][0]
    assert "3 April 2023" in reason and "81 months before the census day" in reason and "24 months" in reason
    assert old["ehc_plan_pct_rank"].null_count() == 2  # left out: not ranked either

    assert trust_years(peer_summary(YEAR, [3.0]), 24)["left_out_reason"][0] is None  # 9 months: reported
    assert trust_years(peer_summary(YEAR, [3.0], age_months=24), 24)["left_out_reason"][0] is None  # at the limit
    # An extract taken after the census day dates each school's joining: never stale.
    assert trust_years(peer_summary(YEAR, [3.0], age_months=-68), 24)["left_out_reason"][0] is None


def test_fewer_than_three_matched_schools_is_small() -> None:
    years = trust_years(peer_summary(YEAR, [3.0, 4.0, 5.0], schools=[1, 2, 3]), 24)
    assert years["is_small"].to_list() == [True, True, False]


def _trust_data(years: pl.DataFrame) -> TrustData:
    frame = members([("1", YEAR, "202", "Oak", 400, 26, 40)])
    la = la_census([("202", YEAR, 30_000, 1_100, 4_300)])
    own = years.filter(pl.col("trust_id") == "1")
    return TrustData(
        "1", "Trust 1", None, None, YEAR, frame, la, NATIONAL, pl.DataFrame(), years=own, peers=peer_rates(years, YEAR)
    )


def test_the_section_places_the_trust_in_its_band_and_reads_its_rank() -> None:
    ehc = [2.2, 3.0, 4.1, 2.4, 0.6]
    years = trust_years(peer_summary(YEAR, ehc, schools=[2, 5, 5, 5, 5]), 24)
    section = peers.section(_trust_data(years))
    assert section is not None

    standing = section.tables[0].frame.row(0, named=True)
    assert (standing["trust_pct"], standing["rank"], standing["peer_trusts"]) == (2.2, 4, 5)
    assert standing["percentile"] == pytest.approx(20.0)  # one of five is lower
    assert standing["median_pct"] == pytest.approx(2.4)
    spread = section.tables[1].frame
    assert spread["ehc_plan_pct_trusts"].sum() == len(ehc)
    mine = spread.filter(pl.col("ehc_plan_pct_band") == "the trust")
    assert mine.height == 1 and mine["band_from_pct"][0] <= 2.2 < mine["band_to_pct"][0]
    assert spread["band_to_pct"][-1] is None  # the last band is open: 98th percentile and over
    assert "ranks 4th of 5" in section.charts[0].reading and "higher than 20%" in section.charts[0].reading
    assert any("Small trust" in p for p in section.paragraphs)


def test_the_bands_stop_at_the_98th_percentile_and_the_last_takes_the_rest() -> None:
    ehc = [1.0 + 0.01 * i for i in range(99)] + [100.0]  # one special-school trust at 100%
    years = trust_years(peer_summary(YEAR, ehc, sen=[5.0] * 100), 24)
    spread = peers.distribution(_trust_data(years))
    assert spread.frame.height == 11 and spread.frame["ehc_plan_pct_trusts"].sum() == 100  # 0-5%, not 0-100%
    assert spread.frame["ehc_plan_pct_trusts"][-1] >= 1 and spread.frame["band_to_pct"][-1] is None


def test_a_single_academy_trust_or_a_left_out_year_has_no_peer_section() -> None:
    sat = trust_years(peer_summary(YEAR, [2.0, 3.0], types=[TrustType.SINGLE_ACADEMY.value, None]), 24)
    assert peers.section(_trust_data(sat)) is None
