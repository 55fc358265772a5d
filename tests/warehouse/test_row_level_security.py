"""Per-trust access on PostgreSQL: a trust's BI role reads its own pupils, no other trust's, writes nothing."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import psycopg
import pytest
from psycopg import errors, sql
from pydantic import SecretStr

from sendflow.core.settings import Settings
from sendflow.loading.file_load import Context, ingest_path
from sendflow.warehouse.access import AccessError, grant_trust
from sendflow.warehouse.schema import ensure_schema
from tests.conftest import PROJECT, SAMPLE_DIR, _reset_postgres
from tests.pupils import School, pupils, write_csv

pytestmark = pytest.mark.postgres

HEADERS = PROJECT / "tests" / "fixtures" / "headers"
CENSUS = SAMPLE_DIR / "england_census_2023-24.csv"
# Real Camden primaries of the sample census, invented into two trusts: (urn, estab, pupils, EHC, K, trust).
SCHOOLS = [("100008", "2019", 298, 12, 57, "5001"), ("100009", "2036", 397, 13, 64, "5001"),
           ("100010", "2065", 308, 14, 62, "5002"), ("100011", "2078", 397, 5, 68, "5002")]  # fmt: skip
TRUST_A, TRUST_B = "5001", "5002"


def _register(path: Path, day: str) -> Path:
    header = next(csv.reader(io.StringIO((HEADERS / "gias.header.csv").read_text(encoding="utf-8-sig"))))
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    for urn, estab, *_, trust in SCHOOLS:
        row = {"URN": urn, "LA (code)": "202", "EstablishmentNumber": estab, "EstablishmentName": f"School {urn}",
               "TypeOfEstablishment (name)": "Academy converter", "EstablishmentStatus (name)": "Open",
               "OpenDate": "01-09-2012", "PhaseOfEducation (name)": "Primary", "Trusts (code)": trust,
               "Trusts (name)": f"Trust {trust}", "TrustSchoolFlag (name)": "Supported by a multi-academy trust",
               "LastChangedDate": day}  # fmt: skip
        writer.writerow([row.get(column, "") for column in header])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode("cp1252"))
    return path


def _returns(path: Path, seed: int = 1) -> Path:
    rows = []
    for _, estab, total, ehc, support, _ in SCHOOLS:
        rows += pupils(School("202", estab, total, ehc, support), seed=seed)
    return write_csv(path, rows)


@pytest.fixture
def warehouse_with_trusts(postgres_database: str, tmp_path: Path) -> Context:
    _reset_postgres(postgres_database)
    context = Context.from_settings(Settings(home=tmp_path / "home", warehouse_url=postgres_database,
                                             pupil_key=SecretStr("a test key, not a real one")))  # fmt: skip
    ensure_schema(context.warehouse)
    for path in (_register(tmp_path / "r" / "edubasealldata20230901.csv", "01-09-2023"), CENSUS,
                 _returns(tmp_path / "returns_spring_2024.csv")):  # fmt: skip
        outcome = ingest_path(path, None, context)
        assert outcome.status == "loaded", outcome.message
    return context


@pytest.fixture
def roles(warehouse_with_trusts: Context) -> Iterator[dict[str, str]]:
    suffix = uuid.uuid4().hex[:8]
    names = {TRUST_A: f"trust_a_{suffix}", TRUST_B: f"trust_b_{suffix}"}
    for trust, role in names.items():
        grant_trust(warehouse_with_trusts.warehouse, trust, role)
    yield names
    with psycopg.connect(warehouse_with_trusts.warehouse.libpq_url, autocommit=True) as admin:
        for role in names.values():  # roles are cluster-wide: the per-session database does not take them
            admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _as(context: Context, role: str) -> psycopg.Connection:
    return psycopg.connect(context.warehouse.libpq_url.replace("postgres@", f"{role}@", 1), autocommit=True)


def _readable(connection: psycopg.Connection) -> list[str]:
    rows = connection.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
        "AND has_table_privilege(current_user, format('%I.%I', table_schema, table_name), 'SELECT') ORDER BY 1"
    ).fetchall()
    return [row[0] for row in rows]


def _pupil_urns(connection: psycopg.Connection, relation: str) -> set[str]:
    columns = {r[0] for r in connection.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s", [relation]).fetchall()}  # fmt: skip
    if "urn" not in columns or relation not in ("fct_pupil_census", "v_census_reconciliation"):
        return set()
    return {r[0] for r in connection.execute(sql.SQL("SELECT DISTINCT urn FROM {}").format(sql.Identifier(relation)))}


def _assert_sees_only_its_trust(context: Context, role: str, trust: str) -> None:
    own = {urn for urn, *_, t in SCHOOLS if t == trust}
    with _as(context, role) as connection:
        readable = _readable(connection)
        assert {"fct_pupil_census", "v_census_reconciliation", "fct_school_census", "dim_school"} <= set(readable)
        assert "etl_quarantine" not in readable
        for relation in readable:
            connection.execute(sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(relation))).fetchone()
            seen = _pupil_urns(connection, relation)
            assert seen <= own, f"{role} reads other trusts' pupils through {relation}"
        assert _pupil_urns(connection, "fct_pupil_census") == own
        pupils_seen = connection.execute("SELECT COUNT(*) FROM fct_pupil_census").fetchone()[0]  # type: ignore[index]
        assert pupils_seen == sum(total for urn, _, total, *_ in SCHOOLS if urn in own)
        grants = connection.execute("SELECT role_name, trust_id FROM trust_access_role").fetchall()
        assert grants == [(role, trust)]
        published = connection.execute("SELECT COUNT(*) FROM fct_school_census").fetchone()[0]  # type: ignore[index]
        assert published > len(SCHOOLS), "school-level published data stays readable in full"


def test_each_trust_role_reads_its_own_pupils_only(warehouse_with_trusts: Context, roles: dict[str, str]) -> None:
    _assert_sees_only_its_trust(warehouse_with_trusts, roles[TRUST_A], TRUST_A)
    _assert_sees_only_its_trust(warehouse_with_trusts, roles[TRUST_B], TRUST_B)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO fct_pupil_census (urn, academic_year, census_term, pupil_key) VALUES ('1', 'x', 'spring', 'k')",
        "UPDATE fct_pupil_census SET sex = 'F'",
        "DELETE FROM fct_pupil_census",
        "DELETE FROM dim_school",
        "UPDATE trust_access_role SET trust_id = '5002'",
    ],
)
def test_a_trust_role_cannot_write(warehouse_with_trusts: Context, roles: dict[str, str], statement: str) -> None:
    with _as(warehouse_with_trusts, roles[TRUST_A]) as connection, pytest.raises(errors.InsufficientPrivilege):
        connection.execute(statement)


def test_a_trust_role_owns_nothing_and_cannot_bypass_policies(
    warehouse_with_trusts: Context, roles: dict[str, str]
) -> None:
    with psycopg.connect(warehouse_with_trusts.warehouse.libpq_url) as admin:
        for role in roles.values():
            flags = admin.execute(
                "SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = %s", [role]
            ).fetchone()
            owned = admin.execute(
                "SELECT COUNT(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = %s)", [role]
            ).fetchone()
            assert flags == (False, False, True) and owned == (0,)
        forced = admin.execute(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'fct_pupil_census'"
        ).fetchone()
        assert forced == (True, True)
        invokers = admin.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
            "AND c.relkind = 'v' AND NOT ('security_invoker=true' = ANY(coalesce(c.reloptions, '{}')))"
        ).fetchall()
        assert invokers == [], "every view reads with the querying role's rights"


def test_policies_hold_after_every_table_is_reloaded(
    warehouse_with_trusts: Context, roles: dict[str, str], tmp_path: Path
) -> None:
    revised_census = pl.read_csv(CENSUS, infer_schema=False).with_columns(pl.col("NORG").alias("NORG"))
    census_path = tmp_path / "resent" / "england_census_2023-24_revised.csv"
    census_path.parent.mkdir()
    revised_census.write_csv(census_path)
    census_path.write_text(census_path.read_text() + "\n")  # other bytes, same rows: a real reload
    for path in (_register(tmp_path / "r2" / "edubasealldata20240901.csv", "01-09-2024"), census_path,
                 _returns(tmp_path / "returns_spring_2024_v2.csv", seed=2)):  # fmt: skip
        outcome = ingest_path(path, None, warehouse_with_trusts)
        assert outcome.status == "loaded", outcome.message

    with psycopg.connect(warehouse_with_trusts.warehouse.libpq_url) as admin:
        policies = admin.execute("SELECT tablename, policyname FROM pg_policies ORDER BY 1, 2").fetchall()
    assert ("fct_pupil_census", "trust_members_read") in policies
    _assert_sees_only_its_trust(warehouse_with_trusts, roles[TRUST_A], TRUST_A)
    _assert_sees_only_its_trust(warehouse_with_trusts, roles[TRUST_B], TRUST_B)


def test_an_unknown_trust_or_a_sqlite_warehouse_is_refused(warehouse_with_trusts: Context, tmp_path: Path) -> None:
    with pytest.raises(AccessError, match="no trust 9999"):
        grant_trust(warehouse_with_trusts.warehouse, "9999", f"nobody_{uuid.uuid4().hex[:6]}")
    sqlite = Context.from_settings(Settings(home=tmp_path / "lite"))
    with pytest.raises(AccessError, match="PostgreSQL"):
        grant_trust(sqlite.warehouse, TRUST_A, "whoever")


def test_the_cli_grants_a_role(
    warehouse_with_trusts: Context, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sendflow.cli.main import main

    role = f"trust_cli_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("SENDFLOW_HOME", str(warehouse_with_trusts.settings.home))
    monkeypatch.setenv("SENDFLOW_WAREHOUSE_URL", warehouse_with_trusts.settings.warehouse_url)
    try:
        assert main(["db", "grant-trust", TRUST_B, role]) == 0
        assert f"role {role} sees trust {TRUST_B}'s pupil rows only" in capsys.readouterr().out
        _assert_sees_only_its_trust(warehouse_with_trusts, role, TRUST_B)
        assert main(["db", "grant-trust", "9999", role]) == 1
    finally:
        with psycopg.connect(warehouse_with_trusts.warehouse.libpq_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
