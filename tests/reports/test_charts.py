"""Every kind of chart draws from its table, including those the demo data does not reach (primary needs
from DfE's SEN school-level data, a return that differs from the published figures)."""

from __future__ import annotations

import io
from datetime import date

import polars as pl
from PIL import Image

from sendflow.core.vocabulary import NEED_CODES, ChartKind
from sendflow.reports import charts
from sendflow.reports.model import TrustData, TrustReport
from sendflow.reports.peers import peer_rates, trust_years
from sendflow.reports.report import trust_report
from tests.reports.test_peers import peer_summary
from tests.reports.test_report_browser import blank
from tests.reports.test_tables import YEAR, la_census, members, pupils


def _report() -> TrustReport:
    needs = {f"{kind}_primary_need_{code}": [1, 2] for kind in ("ehc", "sen_support") for code in NEED_CODES}
    frame = members([("1", YEAR, "202", "Oak", 400, 26, 40), ("2", YEAR, "940", "Elm", 300, 26, 50)], needs)
    funding = pl.DataFrame(
        {"la_code": ["202", "202", "940", "940"], "la_name": ["Camden", "Camden", "North", "North"],
         "financial_year": ["2022-23", "2023-24"] * 2, "ehcp_caseload": [1446.0, 1532.0, 3529.0, 3819.0],
         "high_needs_block_gbp": [50.3e6, 55.0e6, 52.4e6, 57.9e6], "high_needs_gbp_per_ehcp": [34_812.0, 35_912.0,
         14_840.0, 15_168.0], "high_needs_net_outturn_gbp": [None, 50.9e6, None, 55.0e6],
         "high_needs_block_real_2024_gbp": [55.6e6, 57.1e6, 57.9e6, 60.2e6],
         "high_needs_per_ehcp_real_2024_gbp": [38_466.0, 37_311.0, 16_398.0, 15_759.0]}
    )  # fmt: skip
    counts = pupils([("7", "ASD", "E", 12), ("7", "SEMH", "K", 3), ("8", "ASD", "K", 15), ("R", "SLCN", "K", 2)])
    rec = pl.DataFrame(
        {"school_name": ["Oak", "Elm"], "urn": ["1", "2"], "academic_year": [YEAR] * 2, "census_term": ["spring"] * 2,
         "pupils_returned": [402, 300], "pupils_published": [400, 300], "pupils_diff": [2, 0],
         "ehc_plan_returned": [26, 26], "ehc_plan_published": [26, 26], "ehc_plan_diff": [0, 0],
         "sen_support_returned": [40, 9], "sen_support_published": [40, 9], "sen_support_diff": [0, 0]}
    )  # fmt: skip
    national = pl.DataFrame(
        {"academic_year": [YEAR], "schools": [790], "ehc_plan_pct": [4.5], "sen_support_pct": [13.1]}
    )
    la = la_census([("202", YEAR, 30_000, 1_100, 4_300), ("940", YEAR, 59_000, 2_650, 7_150)])
    years = trust_years(peer_summary(YEAR, [7.4, 3.0, 4.1, 2.2]), 24)
    data = TrustData(
        "1", "Trust", None, None, YEAR, frame, la, national, funding, counts, "spring", rec,
        years=years.filter(pl.col("trust_id") == "1"), peers=peer_rates(years, YEAR),
    )  # fmt: skip
    return trust_report(data, 10, 5.0, date(2024, 6, 1))


def test_every_kind_of_chart_draws_a_non_blank_png_the_same_each_time() -> None:
    report = _report()

    assert sorted(chart.kind for chart in report.charts) == sorted(charts.DRAWINGS)
    for chart in report.charts:
        png = charts.render(chart, report.table(chart.table))
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG" and image.width > 600 and not blank(image), chart.key
        assert charts.render(chart, report.table(chart.table)) == png  # no timestamps: same data, same bytes
        assert charts.data_uri(png).startswith("data:image/png;base64,iVBOR")


def test_a_differing_return_is_read_out_and_hidden_counts_stay_hidden() -> None:
    report = _report()
    reading = next(c.reading for c in report.charts if c.key == "reconciliation")
    rec = report.table("reconciliation")

    assert reading == "1 of 2 schools differ from the published figures: Oak."
    assert rec.shown(1, "sen_support_returned") == "c" and rec.shown(0, "sen_support_returned") == "c"
    needs = next(c.reading for c in report.charts if c.key == "school_needs")
    assert "Specific learning difficulty (8%)" in needs  # 3 of the 39 EHC plans' needs; ties keep code order


def test_every_chart_kind_has_exactly_one_drawing() -> None:
    # DRAWINGS is keyed by ChartKind, so a kind cannot have two; this proves none has none and no stray key.
    assert list(charts.DRAWINGS) == list(ChartKind) and all(isinstance(k, ChartKind) for k in charts.DRAWINGS)
    assert len(set(charts.DRAWINGS.values())) == len(ChartKind)  # and no drawing serves two kinds
