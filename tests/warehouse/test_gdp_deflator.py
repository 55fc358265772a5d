"""The GDP deflator as committed reference data: seeded with where it comes from on both backends, and the
funding view's real terms equal to cash x 100 / the deflator of the calendar year a financial year starts in.

Expected values are read here from the committed CSV with the csv module, not through sendflow's reader."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

import polars as pl
import psycopg
import pytest
from alembic import command
from alembic.config import Config
from psycopg import sql

from sendflow.loading.file_load import Context, ingest_path
from sendflow.warehouse import migrate, models
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.ledger import query
from sendflow.warehouse.reference import REFERENCE_DIR
from sendflow.warehouse.schema import ensure_schema
from tests.conftest import SAMPLE_DIR, _reset_postgres

DEFLATOR = "hmt_gdp_deflator_calendar_year_2024eq100_DERIVED.csv"
PROVENANCE = "greenbook_data_versions_provenance.csv"
GREENBOOK_COMMIT = "6ad7f3762c7b74a2745a06fec4c5bcdead3b2f86"
# What `make demo` loads for LA funding: allocations 2022-23 and 2023-24, outturn 2023-24, plans 2018-19 on.
FUNDING_SAMPLES = (
    "dedicated-schools-grant_2023_07_20.ods",
    "dedicated-schools-grant_2024_07_20.ods",
    "ehcp_caseload_2025.csv",
    "s251_outturn_2023-24.csv",
)
REAL_OF_CASH = {
    "high_needs_block_real_2024_gbp": "high_needs_block_gbp",
    "high_needs_per_ehcp_real_2024_gbp": "high_needs_gbp_per_ehcp",
    "high_needs_net_outturn_real_2024_gbp": "high_needs_net_outturn_gbp",
}


def deflator_from_csv() -> dict[int, float]:
    with (REFERENCE_DIR / DEFLATOR).open(newline="", encoding="utf-8") as file:
        return {int(row["year"]): float(row["value"]) for row in csv.DictReader(file)}


def test_the_committed_files_are_the_ones_sources_md_describes(real_data: Path) -> None:
    for name in (DEFLATOR, PROVENANCE):
        assert (REFERENCE_DIR / name).read_bytes() == (real_data / "deflators" / name).read_bytes(), name
    sources = (real_data / "SOURCES.md").read_text(encoding="utf-8")
    assert f"charlescoverdale/greenbook:inst/extdata/gdp_deflator.csv @{GREENBOOK_COMMIT}" in sources
    assert "Calendar years only" in sources

    deflator = deflator_from_csv()
    assert sorted(deflator) == list(range(1990, 2025)) and deflator[2024] == 100.0


def test_every_year_is_seeded_with_its_provenance_and_seeding_again_changes_nothing(
    backend_context: Context,
) -> None:
    warehouse = backend_context.warehouse
    ensure_schema(warehouse)

    rows = query(warehouse, "SELECT * FROM ref_gdp_deflator ORDER BY calendar_year")

    assert dict(zip(rows["calendar_year"], rows["index_value"], strict=True)) == deflator_from_csv()
    for row in rows.iter_rows(named=True):
        assert row["series"] == "HM Treasury GDP deflator at market prices, December 2025 update"
        assert row["base_year"] == 2024
        assert row["period_basis"] == "calendar_year"
        # The source in the secondary source's own words (its data_versions.csv), and who that source is.
        assert "GDP deflators at market prices (December 2025" in row["source"]
        assert "calendar-year series, 2024 = 100" in row["source"]
        assert "CGDP_Deflators_Qtrly_National_Accounts_December_2025_update.xlsx" in row["source_notes"]
        assert f"charlescoverdale/greenbook:inst/extdata/gdp_deflator.csv @{GREENBOOK_COMMIT}" in row["obtained_from"]
        assert "MIT licence" in row["obtained_from"]
        assert bool(row["is_derived"]) is True  # SQLite hands back 1, PostgreSQL True


def _invented_allocation(context: Context) -> None:
    """A 2025-26 high-needs allocation for Camden, invented for this test: the deflator has no 2025."""
    table = models.table_of(models.FctLaDsgAllocation)
    frame = pl.DataFrame(
        {"la_code": ["202"], "financial_year": ["2025-26"], "block": ["high_needs"], "basis": ["before_deductions"],
         "la_name": ["Camden"], "amount_gbp": [61_000_000.0]}
    )  # fmt: skip
    with context.warehouse.session() as session:
        session.ingest(table, frame)


def test_real_terms_are_cash_times_100_over_the_deflator_of_the_year_the_financial_year_starts_in(
    backend_context: Context,
) -> None:
    for name in FUNDING_SAMPLES:
        outcome = ingest_path(SAMPLE_DIR / name, None, backend_context)
        assert outcome.status == "loaded", outcome.line()
    _invented_allocation(backend_context)
    deflator = deflator_from_csv()

    view = query(backend_context.warehouse, "SELECT * FROM v_la_send_funding_gap ORDER BY la_code, financial_year")

    checked = {column: 0 for column in REAL_OF_CASH}
    for row in view.iter_rows(named=True):
        where = f"{row['la_code']} {row['financial_year']}"
        starts = int(row["financial_year"][:4])
        assert row["deflator_calendar_year"] == starts, where
        index = deflator.get(starts)
        if index is None:
            assert row["gdp_deflator_index"] is None, where
        else:
            assert row["gdp_deflator_index"] == pytest.approx(index), where
        for real, cash in REAL_OF_CASH.items():
            if row[cash] is None or index is None:
                assert row[real] is None, f"{where} {real}"
                continue
            assert row[real] == pytest.approx(row[cash] * 100 / index, rel=1e-12), f"{where} {real}"
            checked[real] += 1
    # Every real-terms column was compared on the sample's years: allocations 2022-23, 2023-24; outturn 2023-24.
    assert all(checked.values()), checked
    camden = {r["financial_year"]: r for r in view.filter(pl.col("la_code") == "202").iter_rows(named=True)}
    assert camden["2023-24"]["high_needs_block_real_2024_gbp"] == pytest.approx(
        camden["2023-24"]["high_needs_block_gbp"] * 100 / 96.2507
    )
    # 2025 is past the series' end: cash shown, real terms NULL rather than guessed.
    assert camden["2025-26"]["high_needs_block_gbp"] == 61_000_000.0
    assert camden["2025-26"]["gdp_deflator_index"] is None
    assert camden["2025-26"]["high_needs_block_real_2024_gbp"] is None


@pytest.mark.postgres
def test_a_trust_role_granted_before_the_deflator_keeps_reading_the_funding_view(
    postgres_database: str, tmp_path: Path
) -> None:
    _reset_postgres(postgres_database)
    warehouse = Warehouse(postgres_database)
    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    with warehouse.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
    role, gone = f"trust_old_{uuid.uuid4().hex[:8]}", f"trust_gone_{uuid.uuid4().hex[:8]}"
    name = sql.Identifier(role)
    admin = psycopg.connect(warehouse.libpq_url, autocommit=True)
    admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(name))
    try:
        # What `sendflow db grant-trust` gave a role at 0004; the second role was dropped since its grant.
        admin.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(name))
        admin.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(name))
        admin.execute(
            "INSERT INTO trust_access_role (role_name, trust_id) VALUES (%s, '5001'), (%s, '5002')", [role, gone]
        )

        ensure_schema(warehouse)  # migrates to head, then seeds and creates the views
        # The view grant the role held on the view before: CREATE OR REPLACE VIEW keeps it.
        admin.execute(sql.SQL("GRANT SELECT ON v_la_send_funding_gap TO {}").format(name))

        url = warehouse.libpq_url.replace("postgres@", f"{role}@", 1)
        with psycopg.connect(url, autocommit=True) as trust:
            years = trust.execute("SELECT COUNT(*) FROM ref_gdp_deflator").fetchone()
            trust.execute("SELECT high_needs_block_real_2024_gbp FROM v_la_send_funding_gap").fetchall()
        assert years == (len(deflator_from_csv()),)
    finally:
        admin.execute(sql.SQL("DROP OWNED BY {}").format(name))  # roles are cluster-wide: drop it with its grants
        admin.execute(sql.SQL("DROP ROLE {}").format(name))
        admin.close()
