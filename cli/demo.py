"""`sendflow demo`: the whole pipeline on the bundled sample extracts, then what the warehouse now holds."""

from __future__ import annotations

import secrets
from pathlib import Path

from sendflow.core.settings import Settings
from sendflow.core.text import table
from sendflow.core.vocabulary import CensusTerm, LoadStatus
from sendflow.flows.ingest import with_task_runner
from sendflow.reports.read import DEMO_MEMBERSHIP_FILE, DEMO_TRUST_ID, ReportError
from sendflow.reports.write import trust_report_dir, write_trust_report
from sendflow.synthetic.writers import SynthError, generate_census
from sendflow.warehouse import ledger
from sendflow.warehouse.connection import Warehouse

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
# The register first, so the census years can be read against it; then the LA funding and EHC plans.
SAMPLE_FILES = (
    "england_school_information_2023-24.csv",
    DEMO_MEMBERSHIP_FILE,  # real schools of the sample census in an invented trust, for the trust report
    "england_census_2018-19.csv",
    "england_census_2023-24.csv",
    "dedicated-schools-grant_2023_07_20.ods",
    "dedicated-schools-grant_2024_07_20.ods",
    "ehcp_caseload_2025.csv",
    "s251_outturn_2023-24.csv",
)


def ensure_local_pupil_key(settings: Settings) -> Path | None:
    """A random pseudonymisation key for this machine's demo (var/ is git-ignored), unless one is set."""
    if settings.pupil_key is not None or settings.pupil_key_block or settings.pupil_key_file:
        return None
    path = settings.default_pupil_key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
        path.chmod(0o600)
        return path
    return None


def run_demo(settings: Settings) -> int:
    print(f"sendflow demo: warehouse {Warehouse(settings.warehouse_url).describe()}, lake {settings.lake_dir}")
    created = ensure_local_pupil_key(settings)
    if created:
        print(f"Created a local pupil pseudonymisation key at {created} (owner-only; never commit it)")
    print(f"Ingesting the bundled sample extracts from {SAMPLE_DIR} (real DfE slices; see ATTRIBUTION.md)\n")
    outcomes = with_task_runner(settings)([str(SAMPLE_DIR / name) for name in SAMPLE_FILES])
    for outcome in outcomes:
        print("  " + outcome.line())
    try:
        returns = demo_trust_returns(settings)
    except SynthError as error:
        print(f"\nNo synthetic returns for the demo trust: {error}")
        return 1
    print(
        f"\nSynthetic {DEMO_RETURNS_YEAR} spring census returns of the demo trust's schools, in {returns[0].parent}\n"
    )
    pupil_outcomes = with_task_runner(settings)([str(p) for p in returns])
    for outcome in pupil_outcomes:
        print("  " + outcome.line())
    outcomes = [*outcomes, *pupil_outcomes]
    if all(o.status == LoadStatus.DUPLICATE for o in outcomes):
        print("\nEvery sample file was already loaded: nothing changed.")
    print()
    warehouse = Warehouse(settings.warehouse_url)
    print(summary(warehouse))
    try:
        report = write_trust_report(
            warehouse,
            DEMO_TRUST_ID,
            DEMO_RETURNS_YEAR,
            trust_report_dir(settings.reports_dir, DEMO_TRUST_ID),
            settings.report_options,
        )
    except ReportError as error:
        print(f"\nNo trust report: {error}")
        return 1
    print(f"\nThe demo trust's SEND report (its membership is invented; see the page): {report.html}")
    return 0 if all(o.ok for o in outcomes) else 1


DEMO_RETURNS_YEAR = "2023/24"
DEMO_RETURNS_SEED = 20240118  # fixed: the same files every run, so a second demo finds them already loaded


def demo_trust_returns(settings: Settings) -> list[Path]:
    """Synthetic spring census returns of the demo trust's schools, from the published census just loaded."""
    folder = settings.home / "synthetic" / f"demo-trust-{DEMO_TRUST_ID}"
    return generate_census(
        Warehouse(settings.warehouse_url),
        trust_id=DEMO_TRUST_ID,
        academic_year=DEMO_RETURNS_YEAR,
        term=CensusTerm.SPRING,
        file_format="csv",
        seed=DEMO_RETURNS_SEED,
        out_dir=folder,
    ).paths


def summary(warehouse: Warehouse) -> str:
    per_dataset = ledger.query(
        warehouse,
        "SELECT dataset, COUNT(*) AS files, SUM(rows_loaded) AS rows_loaded, SUM(rows_quarantined) AS rows_quarantined "
        "FROM etl_load WHERE status = 'loaded' AND superseded_by_load_id IS NULL GROUP BY dataset ORDER BY dataset",
    )
    per_la = ledger.query(
        warehouse,
        "SELECT la_code, la_name, academic_year, schools, total_pupils, ehc_plan_pct, sen_support_pct "
        "FROM v_la_census_summary ORDER BY la_code, academic_year",
    )
    # The sample LAs are those of the sample census; the DSG workbooks cover every LA.
    funding = ledger.query(
        warehouse,
        "SELECT g.la_code, g.la_name, g.financial_year, CAST(g.ehcp_caseload AS BIGINT) AS ehcp, "
        "CAST(ROUND(g.high_needs_block_gbp) AS BIGINT) AS hnb, "
        "CAST(ROUND(g.high_needs_gbp_per_ehcp) AS BIGINT) AS per, "
        "CAST(ROUND(g.high_needs_net_outturn_gbp) AS BIGINT) AS outturn FROM v_la_send_funding_gap g "
        "WHERE g.la_code IN (SELECT DISTINCT la_code FROM fct_school_census) AND g.financial_year >= '2020-21' "
        "ORDER BY g.la_code, g.financial_year",
    )
    return "\n".join(
        [
            "Published, per dataset:",
            table(["dataset", "files", "rows loaded", "rows quarantined"], per_dataset.rows()),
            "",
            "Per LA and year (school census):",
            table(["LA", "name", "year", "schools", "pupils", "EHC plan %", "SEN support %"], per_la.rows()),
            "",
            "Per LA and financial year: EHC plans (January) and the high-needs block (before deductions):",
            table(
                ["LA", "name", "year", "EHC plans", "high-needs block £", "£ per EHC plan", "s251 net outturn £"],
                funding.rows(),
            ),
        ]
    )
