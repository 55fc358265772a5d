"""refresh-marts rebuilds only what reads the loaded dataset: the gold views over its tables, and the kept
trust reports that depend on the loaded partitions."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from sendflow.core.links import FileLinks
from sendflow.loading.file_load import Context
from sendflow.reports.refresh import Refreshed, kept_reports, refresh
from sendflow.reports.write import trust_report_dir
from sendflow.warehouse import ledger
from sendflow.web.files import start_file_server
from tests.conftest import INVENTED_TRUST_ID
from tests.reports.conftest import demo_returns_seed, demo_warehouse_file, report_context  # noqa: F401 - fixtures


def _refresh(context: Context, dataset: str, partitions: list[dict[str, str | int]], trusts: list[str]) -> Refreshed:
    """What the refresh-marts flow runs, with the settings' folders, kept reports and options."""
    settings = context.settings
    kept = kept_reports(settings.reports_dir, trusts)
    return refresh(
        context.warehouse, context.lake, dataset, partitions, settings.reports_dir, kept, settings.report_options
    )


def _partitions(context: Context, dataset: str) -> list[dict[str, str | int]]:
    """The partitions the loads of the DSG allocation replaced, as their load event carries them."""
    assert dataset == "dsg_allocation"
    years = ledger.query(context.warehouse, "SELECT DISTINCT financial_year FROM fct_la_dsg_allocation")
    return [{"financial_year": year} for year in sorted(years["financial_year"].to_list())]


def test_without_kept_reports_only_the_gold_views_are_rebuilt(report_context: Context) -> None:  # noqa: F811
    refreshed = _refresh(report_context, "dsg_allocation", _partitions(report_context, "dsg_allocation"), [])

    assert [view for view, _, _ in refreshed.gold] == ["v_la_send_funding_gap"]
    assert refreshed.reports == [] and not report_context.settings.reports_dir.exists()
    assert "No kept trust report depends on this load." in refreshed.markdown()


def test_a_kept_report_is_rewritten_when_a_load_touches_its_trust_and_left_when_not(
    report_context: Context,  # noqa: F811
) -> None:
    settings = report_context.settings
    assert kept_reports(settings.reports_dir, [INVENTED_TRUST_ID]) == {INVENTED_TRUST_ID}

    funding = _refresh(
        report_context, "dsg_allocation", _partitions(report_context, "dsg_allocation"), [INVENTED_TRUST_ID]
    )
    [(trust, html)] = funding.reports
    assert trust == INVENTED_TRUST_ID and Path(html).parent == trust_report_dir(settings.reports_dir, INVENTED_TRUST_ID)
    written = Path(html).stat().st_mtime_ns
    assert f"`{html}`" in funding.markdown() and "file://" not in funding.markdown()  # no file server: paths

    # the trust's schools are not in this census year's partitions: its report is left as it is
    elsewhere = _refresh(report_context, "school_census", [{"academic_year": "2019/20"}], [INVENTED_TRUST_ID])
    assert elsewhere.reports == [] and Path(html).stat().st_mtime_ns == written
    assert {view for view, _, _ in elsewhere.gold} >= {"v_la_census_summary", "v_trust_send_summary"}

    # once written, a report is kept current without the setting
    assert kept_reports(settings.reports_dir) == {INVENTED_TRUST_ID}


def test_the_refresh_record_links_gold_and_reports_that_the_file_server_serves(
    report_context: Context,  # noqa: F811
) -> None:
    """With serve's file server running, each gold Parquet and regenerated report is a link it answers."""
    settings = report_context.settings
    funding = _refresh(
        report_context, "dsg_allocation", _partitions(report_context, "dsg_allocation"), [INVENTED_TRUST_ID]
    )
    served = start_file_server(settings)
    try:
        markdown = funding.markdown(FileLinks(settings.home, served.url))
        links = re.findall(r"\]\((http://[^)]+)\)", markdown)
        files = [Path(p) for _, p, _ in funding.gold] + [Path(p) for _, p in funding.reports]
        assert len(links) == len(files) and "file://" not in markdown
        for link, file in zip(links, files, strict=True):
            answer = httpx.get(link, timeout=10)
            assert answer.status_code == 200 and answer.content == file.read_bytes(), link
            kind = "application/vnd.apache.parquet" if file.suffix == ".parquet" else "text/html; charset=utf-8"
            assert answer.headers["content-type"] == kind
    finally:
        served.close()
