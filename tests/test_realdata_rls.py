"""Row-level security on two real trusts: real 2017 GIAS academy links and the real 2018/19 census, synthetic
spring 2019 returns for the trusts' real schools, and a `sendflow db grant-trust` role per trust that reads its
own schools' pupils, the published tables and views whole, and nothing of the other trust."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import errors, sql
from pydantic import SecretStr

from sendflow.cli.main import main
from sendflow.core.settings import Settings
from sendflow.loading.file_load import Context, ingest_path
from sendflow.synthetic.writers import SynthSummary, generate_census
from sendflow.transforms.pupil_census import census_day_of, census_term
from sendflow.warehouse.access import NOT_FOR_BI
from sendflow.warehouse.schema import ensure_schema
from tests.warehouse.test_row_level_security import _as, _pupil_urns, _readable

pytestmark = [pytest.mark.realdata, pytest.mark.postgres]

YEAR = "2018/19"
CENSUS_DAY = census_day_of(census_term("spring"), YEAR)
# Relations that hold or derive from pupil rows: a trust role sees its own part of these, all of the rest.
PUPIL_LEVEL = ("fct_pupil_census", "v_census_reconciliation")
PUBLISHED = ("fct_school_census", "dim_school", "dim_trust", "v_trust_send_summary", "v_trust_membership_coverage",
             "v_national_census_summary", "v_la_census_summary")  # fmt: skip
# Membership on census day by dim_school's own dates: the superuser's answer each role must match.
MEMBERS = (
    "SELECT d.trust_id, d.urn FROM dim_school d "
    "WHERE d.trust_id IS NOT NULL AND d.valid_from <= %(day)s AND (d.valid_to IS NULL OR d.valid_to > %(day)s)"
)
# The two largest multi-academy trusts by member schools in the census, ties to the lower Group UID.
LARGEST_MATS = f"""
    SELECT m.trust_id, t.trust_name, COUNT(*) AS schools
    FROM ({MEMBERS}) m
    JOIN dim_trust t ON t.trust_id = m.trust_id AND t.trust_type = 'Multi-academy trust'
    JOIN fct_school_census c ON c.urn = m.urn AND c.academic_year = %(year)s
    GROUP BY m.trust_id, t.trust_name ORDER BY schools DESC, m.trust_id LIMIT 2
"""
PUPILS_BY_MEMBERSHIP = """
    SELECT p.urn, COUNT(*) FROM fct_pupil_census p
    JOIN dim_school d ON d.urn = p.urn AND d.trust_id = %s
     AND d.valid_from <= p.census_date AND (d.valid_to IS NULL OR d.valid_to > p.census_date)
    GROUP BY p.urn
"""
# Schools in no trust on census day get returns too, so "exactly its own" is tested against more than one rival.
UNAFFILIATED = f"""
    SELECT c.urn FROM fct_school_census c
    WHERE c.academic_year = %(year)s AND c.total_pupils > 0 AND c.ehc_plan IS NOT NULL AND c.sen_support IS NOT NULL
      AND c.urn NOT IN (SELECT urn FROM ({MEMBERS}) m)
    ORDER BY c.urn LIMIT 3
"""


@dataclass(frozen=True)
class Trust:
    trust_id: str
    name: str
    schools: int  # member schools with a row in the published census
    role: str
    pupils: dict[str, int]  # URN -> pupil rows, by the superuser's membership query


@dataclass(frozen=True)
class RealTrusts:
    context: Context
    trusts: tuple[Trust, Trust]


def _load(path: Path, context: Context) -> None:
    outcome = ingest_path(path, None, context)
    assert outcome.status == "loaded", outcome.message
    assert outcome.rows_quarantined == 0, outcome.message


def _drop_role(admin_url: str, role: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))  # its grants in this database
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _returns(context: Context, out_dir: Path, trust_ids: list[str], bystanders: list[str]) -> list[SynthSummary]:
    """One combined spring return per trust, then one for the bystanders, each loaded as it is written."""
    summaries = []
    selections: list[tuple[str | None, list[str] | None]] = [(trust_id, None) for trust_id in trust_ids]
    for seed, (trust_id, urns) in enumerate([*selections, (None, bystanders)], start=1):
        summary = generate_census(context.warehouse, trust_id=trust_id, urns=urns, academic_year=YEAR, term="spring",
                                  file_format="csv", seed=seed, out_dir=out_dir, combined=True)  # fmt: skip
        _load(summary.paths[0], context)
        summaries.append(summary)
    with psycopg.connect(context.warehouse.libpq_url) as admin:
        loaded = admin.execute("SELECT COUNT(*) FROM fct_pupil_census").fetchone()
    assert loaded == (sum(s.pupils for s in summaries),), "a return replaced another school's pupils"
    return summaries


@pytest.fixture(scope="module")
def warehouse(real_data: Path, postgres_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealTrusts]:
    folder = tmp_path_factory.mktemp("rls_real")
    name = f"sendflow_rls_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_server, autocommit=True) as server:
        server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = f"{postgres_server.rsplit('/', 1)[0]}/{name}"
    roles: list[str] = []
    try:
        context = Context.from_settings(Settings(home=folder / "home", warehouse_url=url,
                                                 pupil_key=SecretStr("a test key, not a real one")))  # fmt: skip
        ensure_schema(context.warehouse)
        # The 2017 links date every membership from its joined date with no end, so dim_school holds them on the
        # January 2019 census day without a school register.
        _load(real_data / "gias" / "grouplinks_edubaseallacademiesandfree20170403.csv", context)
        _load(real_data / "sen_school_level" / "perf_tables_england_census_2018-19.csv", context)
        with psycopg.connect(context.warehouse.libpq_url) as admin:
            picked = admin.execute(LARGEST_MATS, {"day": CENSUS_DAY, "year": YEAR}).fetchall()
            bystanders = [r[0] for r in admin.execute(UNAFFILIATED, {"day": CENSUS_DAY, "year": YEAR}).fetchall()]
        assert len(picked) == 2 and len(bystanders) == 3
        summaries = _returns(context, folder / "returns", [trust_id for trust_id, *_ in picked], bystanders)

        suffix = uuid.uuid4().hex[:8]
        trusts: list[Trust] = []
        with pytest.MonkeyPatch.context() as env:
            env.setenv("SENDFLOW_HOME", str(context.settings.home))
            env.setenv("SENDFLOW_WAREHOUSE_URL", url)
            for (trust_id, trust_name, schools), summary in zip(picked, summaries[:2], strict=True):
                role = f"rls_real_{trust_id}_{suffix}"
                assert main(["db", "grant-trust", trust_id, role]) == 0
                roles.append(role)  # only once made: a failed grant rolls back whole and leaves no role to drop
                with psycopg.connect(context.warehouse.libpq_url) as admin:
                    pupils: dict[str, int] = dict(admin.execute(PUPILS_BY_MEMBERSHIP, [trust_id]).fetchall())
                assert (len(pupils), sum(pupils.values())) == (summary.schools, summary.pupils)
                trusts.append(Trust(trust_id, trust_name, schools, role, pupils))
                print(f"trust {trust_id} {trust_name}: {schools} schools in the {YEAR} census, "
                      f"{sum(pupils.values()):,} pupil rows in {len(pupils)} schools, role {role}")  # fmt: skip
        yield RealTrusts(context, (trusts[0], trusts[1]))
    finally:
        for role in roles:
            _drop_role(url, role)
        with psycopg.connect(postgres_server, autocommit=True) as server:
            server.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _superuser_count(context: Context, relation: str) -> int:
    with psycopg.connect(context.warehouse.libpq_url) as admin:
        row = admin.execute(sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(relation))).fetchone()
    assert row is not None
    return int(row[0])


def _relations(context: Context) -> set[str]:
    with psycopg.connect(context.warehouse.libpq_url) as admin:
        rows = admin.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        return {row[0] for row in rows.fetchall()}


@pytest.mark.parametrize("index", [0, 1])
def test_a_real_trust_role_sees_exactly_its_own_schools_pupils(warehouse: RealTrusts, index: int) -> None:
    own, other = warehouse.trusts[index], warehouse.trusts[1 - index]
    assert own.pupils and other.pupils and not own.pupils.keys() & other.pupils.keys()
    with _as(warehouse.context, own.role) as connection:
        seen: dict[str, int] = dict(
            connection.execute("SELECT urn, COUNT(*) FROM fct_pupil_census GROUP BY urn").fetchall()
        )
        assert seen == own.pupils
        assert not seen.keys() & other.pupils.keys(), f"{own.role} reads trust {other.trust_id}'s pupils"
        assert _pupil_urns(connection, "v_census_reconciliation") == set(own.pupils)
        grants = connection.execute("SELECT role_name, trust_id FROM trust_access_role").fetchall()
        assert grants == [(own.role, own.trust_id)]


@pytest.mark.parametrize("index", [0, 1])
def test_a_real_trust_role_reads_the_published_tables_and_views_whole(warehouse: RealTrusts, index: int) -> None:
    role = warehouse.trusts[index].role
    with _as(warehouse.context, role) as connection:
        readable = _readable(connection)
        assert set(readable) == _relations(warehouse.context) - NOT_FOR_BI
        assert set(PUBLISHED) | set(PUPIL_LEVEL) <= set(readable)
        for relation in PUBLISHED:
            assert _superuser_count(warehouse.context, relation) > 0, f"{relation} is empty: the check proves nothing"
        for relation in set(readable) - set(PUPIL_LEVEL) - {"trust_access_role"}:
            row = connection.execute(sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(relation))).fetchone()
            assert row == (_superuser_count(warehouse.context, relation),), f"{role} reads part of {relation}"


@pytest.mark.parametrize("index", [0, 1])
def test_a_real_trust_role_cannot_read_the_quarantine(warehouse: RealTrusts, index: int) -> None:
    with _as(warehouse.context, warehouse.trusts[index].role) as connection:
        assert "etl_quarantine" not in _readable(connection)
        with pytest.raises(errors.InsufficientPrivilege):
            connection.execute("SELECT COUNT(*) FROM etl_quarantine")
