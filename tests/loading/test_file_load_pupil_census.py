"""Pupil-level returns end to end: pseudonymised, reconciled, purgeable, and batched at scale."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import polars as pl
import pytest
from pydantic import SecretStr

import sendflow.intake.reader
import sendflow.loading.file_load
from sendflow.core.settings import Settings
from sendflow.loading.file_load import Context, ingest_path
from sendflow.loading.outcomes import FileOutcome
from sendflow.loading.pupil_files import purge_pupil_files, reconciliation_for_loads
from sendflow.warehouse import ledger
from sendflow.warehouse.schema import ensure_schema
from tests.conftest import SAMPLE_DIR, count_rows
from tests.pupils import School, pupils, write_csv

CENSUS = SAMPLE_DIR / "england_census_2023-24.csv"


def _load_id(outcome: FileOutcome) -> int:
    assert outcome.load_id is not None, outcome.line()
    return outcome.load_id


def _published(urns: list[str]) -> list[School]:
    census = pl.read_csv(CENSUS, infer_schema=False).filter(pl.col("URN").is_in(urns)).sort("URN")
    return [
        School(r["LA"], r["Estab"], int(r["NOR"]), int(r["TSENELSE"]), int(r["TSENELK"]), "primary" in r["SCHOOLTYPE"])
        for r in census.iter_rows(named=True)
    ]


@pytest.fixture
def keyed(tmp_path: Path) -> Context:
    context = Context.from_settings(Settings(home=tmp_path / "home", pupil_key=SecretStr("a test key, not a real one")))
    ensure_schema(context.warehouse)
    assert ingest_path(CENSUS, None, context).status == "loaded"
    return context


@pytest.fixture
def trust_rows() -> list[dict[str, str]]:
    schools = _published(["100000", "100008"])  # two real primary schools, City of London and Camden
    return [row for school in schools for row in pupils(school)]


def test_a_return_matching_the_published_counts_reconciles_to_zero(
    keyed: Context, trust_rows: list[dict[str, str]], tmp_path: Path
) -> None:
    outcome = ingest_path(write_csv(tmp_path / "returns_spring_2024.csv", trust_rows), None, keyed)

    assert outcome.status == "loaded", outcome.message
    assert count_rows(keyed.warehouse, "fct_pupil_census") == len(trust_rows)
    rows = reconciliation_for_loads(keyed.warehouse, [_load_id(outcome)])
    assert rows.height == 2
    assert rows.select("pupils_diff", "ehc_plan_diff", "sen_support_diff").to_series(0).to_list() == [0, 0]
    assert rows["ehc_plan_diff"].to_list() == [0, 0] and rows["sen_support_diff"].to_list() == [0, 0]


def test_one_pupil_recoded_shows_exactly_that_school(
    keyed: Context, trust_rows: list[dict[str, str]], tmp_path: Path
) -> None:
    changed = [dict(row) for row in trust_rows]
    first_k = next(i for i, row in enumerate(changed) if row["LEA"] == "202" and row["SENprovision"] == "K")
    changed[first_k] |= {"SENprovision": "N", "SENtype1": ""}
    ingest_path(write_csv(tmp_path / "a.csv", trust_rows), None, keyed)

    outcome = ingest_path(write_csv(tmp_path / "b.csv", changed), None, keyed)

    rows = reconciliation_for_loads(keyed.warehouse, [_load_id(outcome)])
    differing = rows.filter(
        (pl.col("pupils_diff") != 0) | (pl.col("ehc_plan_diff") != 0) | (pl.col("sen_support_diff") != 0)
    )
    assert differing.select("urn", "pupils_diff", "ehc_plan_diff", "sen_support_diff").rows() == [("100008", 0, 0, -1)]


def test_nothing_personal_reaches_sql_silver_quarantine_or_the_ledger(
    keyed: Context, trust_rows: list[dict[str, str]], tmp_path: Path
) -> None:
    from tests.pupils import personal_values

    broken = [dict(row) for row in trust_rows]
    broken[1]["UPN"] = broken[1]["UPN"].lower()  # quarantined: its record must not carry the UPN
    path = write_csv(tmp_path / "returns.csv", broken)

    outcome = ingest_path(path, None, keyed)

    assert outcome.status == "loaded" and outcome.rows_quarantined == 1
    record = json.loads(ledger.query(keyed.warehouse, "SELECT record FROM etl_quarantine")["record"][0])
    assert len(record["pupil_key"]) == 64 and record["SENprovision"] == broken[1]["SENprovision"]
    assert not {"UPN", "Surname", "Forename", "DOB", "Postcode"} & set(record)
    secrets = personal_values(broken) | {broken[1]["UPN"]}
    for table in ("fct_pupil_census", "etl_quarantine", "etl_load", "v_census_reconciliation"):
        text = ledger.query(keyed.warehouse, f"SELECT * FROM {table}").write_csv()
        assert not [s for s in secrets if s in text], table
    for parquet in keyed.lake.silver.rglob("*.parquet"):
        text = pl.read_parquet(parquet).write_csv()
        assert not [s for s in secrets if s in text], parquet


def test_the_raw_file_is_kept_owner_only_and_purged_on_request(
    keyed: Context, trust_rows: list[dict[str, str]], tmp_path: Path
) -> None:
    outcome = ingest_path(write_csv(tmp_path / "returns.csv", trust_rows), None, keyed)
    (bronze,) = [
        p for p in keyed.lake.bronze.iterdir() if p.stat().st_size == (tmp_path / "returns.csv").stat().st_size
    ]

    assert outcome.status == "loaded"
    assert stat.S_IMODE(bronze.stat().st_mode) == 0o600
    assert purge_pupil_files(keyed.settings, older_than_days=1) == []
    assert purge_pupil_files(keyed.settings, older_than_days=-1) == [bronze]
    assert not bronze.exists()


def test_without_a_key_pupil_data_is_refused_with_how_to_set_one(
    tmp_path: Path, trust_rows: list[dict[str, str]]
) -> None:
    context = Context.from_settings(Settings(home=tmp_path / "nokey"))
    ensure_schema(context.warehouse)

    outcome = ingest_path(write_csv(tmp_path / "returns.csv", trust_rows), None, context)

    assert outcome.status == "rejected"
    assert "SENDFLOW_PUPIL_KEY" in outcome.message and "Prefect Secret block" in outcome.message
    assert not context.lake.bronze.exists() or not any(context.lake.bronze.iterdir())


def test_school_action_data_is_rejected_as_pre_2014(
    keyed: Context, trust_rows: list[dict[str, str]], tmp_path: Path
) -> None:
    old = [dict(row) for row in trust_rows]
    old[3]["SENprovision"] = "A"

    outcome = ingest_path(write_csv(tmp_path / "returns_2012.csv", old), None, keyed)

    assert outcome.status == "rejected" and "pre-2014" in outcome.message
    assert count_rows(keyed.warehouse, "fct_pupil_census") == 0


def test_a_large_file_read_in_batches_loads_the_same_rows(
    keyed: Context, trust_rows: list[dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_csv(tmp_path / "returns.csv", trust_rows)
    whole = ingest_path(path, None, keyed)
    expected = ledger.query(keyed.warehouse, "SELECT * FROM fct_pupil_census ORDER BY urn, pupil_key").drop("load_id")
    other = Context.from_settings(
        Settings(home=tmp_path / "batched", pupil_key=SecretStr("a test key, not a real one"))
    )
    ensure_schema(other.warehouse)
    assert ingest_path(CENSUS, None, other).status == "loaded"
    monkeypatch.setattr(sendflow.intake.reader, "HEAD_BYTES", 256)  # treat the file as large: read it in pieces
    monkeypatch.setattr(sendflow.loading.file_load, "BATCH_ROWS", 50)  # smaller than one school: pieces must re-align

    batched = ingest_path(path, None, other)

    assert whole.status == batched.status == "loaded", batched.message
    got = ledger.query(other.warehouse, "SELECT * FROM fct_pupil_census ORDER BY urn, pupil_key").drop("load_id")
    assert got.equals(expected)


def test_xml_and_csv_returns_of_the_same_school_give_identical_facts(keyed: Context, tmp_path: Path) -> None:
    from sendflow.synthetic.writers import generate_census

    facts = []
    for file_format in ("csv", "xml"):
        (path,) = generate_census(
            keyed.warehouse, urns=["100008"], academic_year="2023/24", term="spring", file_format=file_format,
            seed=7, out_dir=tmp_path / file_format,
        ).paths  # fmt: skip
        context = Context.from_settings(
            Settings(home=tmp_path / f"home-{file_format}", pupil_key=SecretStr("same key"))
        )
        ensure_schema(context.warehouse)
        assert ingest_path(CENSUS, None, context).status == "loaded"
        outcome = ingest_path(path, None, context)
        assert outcome.status == "loaded" and outcome.rows_quarantined == 0, outcome.message
        rows = ledger.query(context.warehouse, "SELECT * FROM fct_pupil_census ORDER BY pupil_key")
        # Positions differ by design: a CSV counts its header as row 1, an XML return counts pupils from 1.
        facts.append(rows.drop("load_id", "source_row_number"))

    assert facts[0].height == 298  # URN 100008's published pupils
    assert facts[0].equals(facts[1])
