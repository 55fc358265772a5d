"""The page: structure, a reading under every chart, the disclosure rule stated, nothing fetched from anywhere,
and numbers equal to the warehouse's."""

from __future__ import annotations

import base64
import io
import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from PIL import Image

from sendflow.loading.file_load import Context
from sendflow.reports import html
from sendflow.reports.model import Column, ReportTable, TrustReport
from sendflow.reports.write import write_trust_report
from tests.conftest import INVENTED_TRUST_ID
from tests.reports.pages import assert_page_matches_warehouse, page_cells


def found(pattern: str, text: str, flags: int = 0) -> re.Match[str]:
    match = re.search(pattern, text, flags)
    assert match is not None, pattern
    return match


YEAR = "2023/24"


@pytest.fixture
def page(report_context: Context, tmp_path: Path) -> str:
    files = write_trust_report(
        report_context.warehouse, INVENTED_TRUST_ID, YEAR, tmp_path / "out", report_context.settings.report_options
    )
    return files.html.read_text(encoding="utf-8")


def _figures(page: str) -> list[str]:
    return re.findall(r'<figure class="chart".*?</figure>', page, flags=re.S)


def test_every_chart_is_an_embedded_png_with_a_one_line_reading(page: str) -> None:
    figures = _figures(page)
    keys = [found(r'data-chart="([^"]+)"', f).group(1) for f in figures]

    assert keys == ["trust_rates", "peer_distribution", "school_rates", "la_growth", "la_per_plan", "la_outturn",
                    "need_by_year_group", "reconciliation"]  # fmt: skip
    for figure in figures:
        reading = found(r'<p class="reading">(.*?)</p>', figure, flags=re.S).group(1)
        assert 40 < len(reading) < 600 and "\n" not in reading and reading.endswith(".")
        data = found(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)"', figure)
        image = Image.open(io.BytesIO(base64.b64decode(data.group(1))))
        assert image.format == "PNG" and image.width > 600
        assert data.group(2)  # alt text for screen readers and when images are off


def test_the_page_is_self_contained(page: str) -> None:
    assert "<script" not in page and "<link" not in page and "@import" not in page
    # Every src is embedded data and every link stays beside the page or on it.
    assert all(src.startswith("data:image/png;base64,") for src in re.findall(r'src="([^"]*)"', page))
    for href in re.findall(r'href="([^"]*)"', page):
        assert href.startswith("#") or not re.match(r"[a-z]+:", href), href
    assert "@media print" in page and "@page" in page


def test_the_disclosure_rule_and_flag_threshold_are_stated(page: str, report_context: Context) -> None:
    threshold = report_context.settings.report_suppression_threshold
    rule = found(r'<p class="rule" data-threshold="(\d+)">(.*?)</p>', page, flags=re.S)

    assert int(rule.group(1)) == threshold == 10
    assert "from 1 to 9" in rule.group(2) and "shown as c" in rule.group(2) and "Secondary suppression" in rule.group(2)
    assert "Published school-level DfE figures are shown as published" in rule.group(2)
    assert "5 percentage points or more" in page  # report_la_distance_pct_points, on the page


def test_a_page_built_on_synthetic_returns_says_so(page: str) -> None:
    banner = found(r'<p class="demo" role="note">(.*?)</p>', page, flags=re.S).group(1)
    assert "Synthetic pupil data:" in banner and "returns behind this page are synthetic" in banner
    assert "describe no real pupil" in banner


def test_real_terms_name_the_deflator_its_base_year_calendar_years_and_its_secondary_source(page: str) -> None:
    funding = found(r'<section id="funding">(.*?)</section>', page, flags=re.S).group(1)

    assert "Real terms: not shown" not in page
    assert "HM Treasury GDP deflator at market prices, December 2025 update" in funding
    assert "calendar-year series, 2024 = 100" in funding and "secondary source" in funding
    assert "the calendar year it starts in (2023 for 2023-24" in funding
    assert "High-needs block £ per EHC plan (2024 prices)" in funding
    shown = [row["high_needs_per_ehcp_real_2024_gbp"] for row in page_cells(page)["la_funding"]]
    assert any(shown), "the demo's allocation years have real-terms figures on the page"


def test_the_numbers_on_the_page_equal_the_warehouse(page: str, report_context: Context) -> None:
    cells = page_cells(page)
    assert_page_matches_warehouse(
        cells, report_context.warehouse, INVENTED_TRUST_ID, YEAR, report_context.settings.report_suppression_threshold
    )
    # The check has teeth: one wrong number on the page fails it.
    cells["schools"][0]["total_pupils"] = str(int(cells["schools"][0]["total_pupils"]) + 1)
    with pytest.raises(AssertionError):
        assert_page_matches_warehouse(cells, report_context.warehouse, INVENTED_TRUST_ID, YEAR, 10)


def test_hidden_cells_and_publisher_symbols_render_distinctly() -> None:
    frame = pl.DataFrame(
        {"school_name": ["A", "B"], "ehc_plan": [3, None], "ehc_plan_status": [None, "x"], "pct": [1.25, -0.5]}
    )
    table = ReportTable(
        "t", "T", (Column("school_name", "School", "text"), Column("ehc_plan", "EHC", "count"),
                   Column("pct", "%", "pp")), frame, origin="pupil-level", hidden=frozenset({(0, "ehc_plan")}),
    )  # fmt: skip
    text = html.table_html(table)

    assert '<td class="c" data-col="ehc_plan" data-value="c"' in text and ">3<" not in text
    assert '<td class="status" data-col="ehc_plan" data-value="x"' in text
    assert 'data-value="-0.5">-0.5<' in text and "disclosure control applied" in text


def test_text_is_escaped() -> None:
    report = TrustReport("1", "<b>Trust & Co</b>", None, None, YEAR, date(2024, 1, 1), 10, 5.0, "rule", ())
    page = html.page(report, {})

    assert "<b>Trust" not in page and "&lt;b&gt;Trust &amp; Co&lt;/b&gt;" in page
