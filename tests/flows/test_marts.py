"""refresh-marts rebuilds only what reads the loaded dataset: the gold views over its tables, and the kept
trust reports that depend on the loaded partitions."""

from __future__ import annotations

from pathlib import Path

from sendflow.flows.marts import kept_reports, refresh
from sendflow.loading.file_load import Context
from sendflow.reports.read import DEMO_TRUST_ID
from sendflow.reports.write import trust_report_dir
from sendflow.warehouse import ledger
from tests.reports.conftest import demo_returns_seed, demo_warehouse_file, report_context  # noqa: F401 - fixtures


def _partitions(context: Context, dataset: str) -> list[str]:
    values = ledger.query(
        context.warehouse,
        f"SELECT partition_values FROM etl_load WHERE dataset = '{dataset}' AND status = 'loaded' ORDER BY load_id",
    )["partition_values"].to_list()
    return [part for value in values for part in value.split(", ")]


def test_without_kept_reports_only_the_gold_views_are_rebuilt(report_context: Context) -> None:  # noqa: F811
    refreshed = refresh(report_context.settings, "dsg_allocation", _partitions(report_context, "dsg_allocation"))

    assert [view for view, _, _ in refreshed.gold] == ["v_la_send_funding_gap"]
    assert refreshed.reports == [] and not report_context.settings.reports_dir.exists()
    assert "No kept trust report depends on this load." in refreshed.markdown()


def test_a_kept_report_is_rewritten_when_a_load_touches_its_trust_and_left_when_not(
    report_context: Context,  # noqa: F811
) -> None:
    settings = report_context.settings.model_copy(update={"report_trusts": [DEMO_TRUST_ID]})
    assert kept_reports(settings) == {DEMO_TRUST_ID}

    funding = refresh(settings, "dsg_allocation", _partitions(report_context, "dsg_allocation"))
    [(trust, html)] = funding.reports
    assert trust == DEMO_TRUST_ID and Path(html).parent == trust_report_dir(settings.reports_dir, DEMO_TRUST_ID)
    written = Path(html).stat().st_mtime_ns
    assert Path(html).as_uri() in funding.markdown()

    # the trust's schools are not in this census year's partitions: its report is left as it is
    elsewhere = refresh(settings, "school_census", ["2019/20 (3 urns)"])
    assert elsewhere.reports == [] and Path(html).stat().st_mtime_ns == written
    assert {view for view, _, _ in elsewhere.gold} >= {"v_la_census_summary", "v_trust_send_summary"}

    # once written, a report is kept current without the setting
    assert kept_reports(report_context.settings) == {DEMO_TRUST_ID}
