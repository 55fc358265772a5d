"""`sendflow demo`: the whole pipeline on the bundled sample extracts, then what the warehouse now holds."""

from __future__ import annotations

import secrets
from pathlib import Path

from flows.ingest import with_task_runner
from flows.report_text import table
from flows.settings import Settings
from warehouse import ledger
from warehouse.connection import Warehouse

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
# The register first, so the census years can be read against it; then the LA funding and EHC plans.
SAMPLE_FILES = (
    "england_school_information_2023-24.csv",
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
    if all(o.status == "duplicate" for o in outcomes):
        print("\nEvery sample file was already loaded: nothing changed.")
    print()
    print(summary(Warehouse(settings.warehouse_url)))
    return 0 if all(o.ok for o in outcomes) else 1


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
