"""`sendflow demo`: the whole pipeline on the bundled sample extracts, then what the warehouse now holds."""

from __future__ import annotations

from pathlib import Path

from flows.ingest import ingest_files
from flows.report_text import table
from flows.settings import Settings
from warehouse import ledger
from warehouse.connection import Warehouse

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
# The register first, so the census years can be read against it.
SAMPLE_FILES = (
    "england_school_information_2023-24.csv",
    "england_census_2018-19.csv",
    "england_census_2023-24.csv",
)


def run_demo(settings: Settings) -> int:
    print(f"sendflow demo: warehouse {Warehouse(settings.warehouse_url).describe()}, lake {settings.lake_dir}")
    print(f"Ingesting the bundled sample extracts from {SAMPLE_DIR} (real DfE slices; see ATTRIBUTION.md)\n")
    outcomes = ingest_files([str(SAMPLE_DIR / name) for name in SAMPLE_FILES])
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
    return "\n".join(
        [
            "Published, per dataset:",
            table(["dataset", "files", "rows loaded", "rows quarantined"], per_dataset.rows()),
            "",
            "Per LA and year (school census):",
            table(["LA", "name", "year", "schools", "pupils", "EHC plan %", "SEN support %"], per_la.rows()),
        ]
    )
