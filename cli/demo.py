"""`sendflow demo`: the whole pipeline on the bundled sample extracts, then what the warehouse now holds."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable
from pathlib import Path

from sendflow.cli.progress import outcome_lines, showing_progress
from sendflow.core.settings import Settings
from sendflow.core.text import table
from sendflow.core.vocabulary import CensusTerm, LoadStatus
from sendflow.loading.outcomes import FileOutcome
from sendflow.reports.read import ReportError
from sendflow.reports.write import report_stem, trust_report_dir, write_trust_report
from sendflow.synthetic.writers import SynthError, generate_census
from sendflow.warehouse import ledger
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.lake import Lake
from sendflow.warehouse.marts import existing_relations, gold_path, write_gold
from sendflow.warehouse.views import VIEWS

IngestRun = Callable[[list[str], str | None], list[FileOutcome]]
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
# The registers first, so the census years can be read against them; then the LA funding and EHC plans.
SAMPLE_FILES = (
    "england_school_information_2023-24.csv",
    # GIAS's own academy trust links of 3 April 2017 and its all-groups register of 17 February 2026, as
    # published, cut to the sample LAs: the demo reports on a real trust.
    "grouplinks_edubaseallacademiesandfree20170403.csv",
    "allgroupsdata20260217.csv",
    "england_census_2018-19.csv",
    "england_census_2023-24.csv",
    "dedicated-schools-grant_2023_07_20.ods",
    "dedicated-schools-grant_2024_07_20.ods",
    "ehcp_caseload_2025.csv",
    "s251_outturn_2023-24.csv",
)

# Montsaye Community Learning Partnership in the 2017 links (Pathfinder Schools in the 2026 register): a real
# multi-academy trust of eight Northamptonshire schools then, every one of them in the sample census. Its
# membership is 21 months old on the January 2019 census day and 81 on January 2024's, so the demo reports
# 2018/19 (the page says why 2023/24 is left out).
DEMO_TRUST_ID = "3931"


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


def run_demo(settings: Settings, ingest: IngestRun) -> int:
    """`ingest` runs files as `sendflow ingest` would (cli.main.ingest_runner: served, or here)."""
    print(f"sendflow demo: warehouse {Warehouse(settings.warehouse_url).describe()}, lake {settings.lake_dir}")
    created = ensure_local_pupil_key(settings)
    if created:
        print(f"Created a local pupil pseudonymisation key at {created} (owner-only; never commit it)")
    print(f"Ingesting the bundled sample extracts from {SAMPLE_DIR} (real DfE slices; see ATTRIBUTION.md)\n")
    samples = [str(SAMPLE_DIR / name) for name in SAMPLE_FILES]
    with showing_progress(samples):
        outcomes = ingest(samples, None)
    for line in outcome_lines(outcomes):
        print("  " + line)
    try:
        returns = demo_trust_returns(settings)
    except SynthError as error:
        print(f"\nNo synthetic returns for the demo trust: {error}")
        return 1
    print(
        f"\nSynthetic {DEMO_RETURNS_YEAR} spring census returns of the demo trust's schools, in {returns[0].parent}\n"
    )
    return_files = [str(p) for p in returns]
    with showing_progress(return_files):
        pupil_outcomes = ingest(return_files, None)
    for line in outcome_lines(pupil_outcomes):
        print("  " + line)
    outcomes = [*outcomes, *pupil_outcomes]
    if all(o.status == LoadStatus.DUPLICATE for o in outcomes):
        print("\nEvery sample file was already loaded: nothing changed.")
    print()
    warehouse = Warehouse(settings.warehouse_url)
    print(summary(warehouse))
    folder = trust_report_dir(settings.reports_dir, DEMO_TRUST_ID)
    page = folder / f"{report_stem(DEMO_TRUST_ID, DEMO_RETURNS_YEAR)}.html"
    fresh = any(o.status == LoadStatus.LOADED for o in outcomes)
    if fresh or not page.is_file():  # drawn again only when its data changed (its charts take seconds)
        try:
            page = write_trust_report(warehouse, DEMO_TRUST_ID, DEMO_RETURNS_YEAR, folder, settings.report_options).html
        except ReportError as error:
            print(f"\nNo trust report: {error}")
            return 1
    named = ledger.query(
        warehouse, f"SELECT trust_name FROM dim_trust WHERE trust_id = {warehouse.param()}", [DEMO_TRUST_ID]
    )
    name = named["trust_name"][0] if named.height else DEMO_TRUST_ID  # the newest register's name for it
    print(f"\nThe SEND report of a real trust, {name} (members as in GIAS's trust links of 3 April 2017; its "
          f"pupil-level returns are synthetic, as the page says): {page}")  # fmt: skip
    gold = write_demo_gold(settings, fresh=fresh)
    if gold:
        print(f"Gold Parquet of {len(gold)} views, for BI tools that read files: {gold[0].parent.parent}")
    print(next_steps(settings, page))
    return 0 if all(o.ok for o in outcomes) else 1


def write_demo_gold(settings: Settings, fresh: bool) -> list[Path]:
    """Every view's gold Parquet, as refresh-marts writes it after a served load (the same write_gold), so the
    lake the README walks through is there after the demo. Rewritten only when this run loaded something, or
    when it is missing."""
    warehouse, lake = Warehouse(settings.warehouse_url), Lake(settings.lake_dir)
    present = existing_relations(warehouse)
    views = [view for view in VIEWS if view.name in present]
    if not fresh and all(gold_path(lake, view.name).is_file() for view in views):
        return [gold_path(lake, view.name) for view in views]
    return [write_gold(warehouse, lake, view)[0] for view in views]


def _shown(path: Path) -> str:
    """Relative to where the command was run from, when under it: the commands below are to be pasted."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def next_steps(settings: Settings, report: Path) -> str:
    warehouse = Warehouse(settings.warehouse_url)
    if warehouse.dialect == "sqlite":
        query = (
            f'sqlite3 -header -column {_shown(warehouse.sqlite_path)} "SELECT la_name, academic_year, '
            'ehc_plan_pct, sen_support_pct FROM v_la_census_summary"'
        )
    else:
        query = f'psql {warehouse.libpq_url} -c "SELECT la_name, academic_year, ehc_plan_pct FROM v_la_census_summary"'
    landing, sendflow = _shown(settings.landing_dir), _shown(Path(sys.executable).parent / "sendflow")
    return "\n".join(
        [
            "",
            "Next, try:",
            f"  1. Query the warehouse:  {query}",
            f"  2. Run the service:      {sendflow} serve   (then, in another terminal: cp "
            f"data/sample/walkthrough/*.csv {landing}/ ; the README's 'Run it as a service' walks it through)",
            f"  3. Open the report:      xdg-open {_shown(report)}   (or open it in any browser)",
        ]
    )


DEMO_RETURNS_YEAR = "2018/19"  # the year the 2017 membership is recent enough to report (see DEMO_TRUST_ID)
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
