"""Identifiers in every column of a pupil return, through the production path: none reaches any output.

A column-shifted export (the commonest real-world mistake) puts UPNs, surnames, dates of birth and
postcodes into code columns. These tests load such returns with `ingest_path` into a real SQLite warehouse,
with Great Expectations validating and writing its Data Docs pages, and then read every output there is:
every table, the database file's own bytes, the Parquet lake, the Data Docs HTML, the rejected area's file
names and reason files, the outcome and its run record, logs and stdout.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
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
from sendflow.loading.pupil_files import purge_pupil_files, shown_name, source_label
from sendflow.loading.repeats import answer_repeat
from sendflow.loading.run_record import outcome_markdown, outcome_table
from sendflow.registry.datasets import DATASETS
from sendflow.transforms.pupil_census import PUPIL_CSV
from sendflow.warehouse import ledger
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.schema import ensure_schema
from tests.conftest import SAMPLE_DIR
from tests.pupils import HEADER, SURNAMES, School, personal_values, pupils, write_csv

CENSUS = SAMPLE_DIR / "england_census_2023-24.csv"
KINDS = ("UPN", "Surname", "DOB", "Postcode")
NOT_IDENTIFIERS = [c for c in HEADER if c not in PUPIL_CSV.personal]


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Context:
    """A warehouse with the two schools the returns name (their rows of the published census), and a key."""
    folder = tmp_path_factory.mktemp("privacy")
    context = Context.from_settings(Settings(home=folder / "home", pupil_key=SecretStr("a test key, not a real one")))
    ensure_schema(context.warehouse)
    census = pl.read_csv(CENSUS, infer_schema=False).filter(pl.col("URN").is_in(["100000", "100008"]))
    census.write_csv(folder / "england_census_2023-24.csv")
    assert ingest_path(folder / "england_census_2023-24.csv", None, context).status == "loaded"
    return context


def _shifted(rows: list[dict[str, str]], every: int) -> list[dict[str, str]]:
    """Every `every`-th row with, in each column that is not an identifier, another pupil's identifier:
    over four such rows each column has held a UPN, a surname, a date of birth and a postcode."""
    out = [dict(row) for row in rows]
    for hit, index in enumerate(range(1, len(out), every)):
        for offset, column in enumerate(NOT_IDENTIFIERS):
            out[index][column] = rows[(index + offset + 1) % len(rows)][KINDS[(hit + offset) % len(KINDS)]]
    return out


def _secrets(rows: list[dict[str, str]]) -> set[str]:
    return personal_values(rows)


# The surnames the rows are drawn from, on their own too (a name redacted by halves leaks); as words, since
# the warehouse's own reference data has Greenwich.
_SURNAME_WORDS = re.compile("|".join(rf"(?<![A-Za-z]){name}(?![a-z])" for name in SURNAMES))


def _leaks(text: str, secrets: set[str]) -> list[str]:
    return sorted({s for s in secrets if s in text} | set(_SURNAME_WORDS.findall(text)))


def _raw_copies(context: Context) -> set[Path]:
    """The raw files themselves, kept by design (owner-only, purged on request): bronze and rejected copies."""
    rejected = context.settings.landing_dir / "rejected"
    copies = {p for p in rejected.glob("*") if not p.name.endswith(".reason.txt")} if rejected.exists() else set()
    return copies | set(context.lake.bronze.rglob("*"))


def _everything_written(context: Context, outcome: FileOutcome) -> dict[str, str]:
    """Each output, by where it is, as text."""
    found: dict[str, str] = {}
    tables = ledger.query(context.warehouse, "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
    for table in tables["name"]:
        found[f"table {table}"] = ledger.query(context.warehouse, f'SELECT * FROM "{table}"').write_csv()
    raw = _raw_copies(context)
    for path in sorted(context.settings.home.rglob("*")):
        found[f"name {path}"] = str(path.relative_to(context.settings.home))
        if not path.is_file() or path in raw:
            continue
        if path.suffix == ".parquet":
            found[f"file {path}"] = pl.read_parquet(path).write_csv()
        else:  # HTML, reason files, the SQLite file's own pages (freed ones too)
            found[f"file {path}"] = path.read_bytes().decode("utf-8", errors="replace")
    found["outcome"] = repr(outcome) + outcome.line()
    found["run record"] = json.dumps(outcome_table(outcome), default=str) + outcome_markdown(outcome, 250_000)
    return found


def _assert_nothing_personal(
    context: Context, outcome: FileOutcome, secrets: set[str], caplog: pytest.LogCaptureFixture, printed: str
) -> None:
    outputs = _everything_written(context, outcome)
    outputs["logs"] = "\n".join(record.getMessage() for record in caplog.records)
    outputs["stdout and stderr"] = printed
    assert any(key.startswith("file ") and key.endswith(".html") for key in outputs), "GX wrote no Data Docs page"
    leaked = {where: _leaks(text, secrets) for where, text in outputs.items()}
    assert not {where: found for where, found in leaked.items() if found}


def test_a_shifted_return_that_loads_leaks_nothing_anywhere(
    keyed: Context, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    clean = pupils(School("201", "3614", pupils=244, ehc=11, support=59))
    rows = _shifted(clean, every=25)  # 10 rows of 244: under the 5% threshold, so the file loads
    name = f"{clean[0]['UPN']}_{clean[0]['Surname']}_spring_2024.csv"

    outcome = ingest_path(write_csv(tmp_path / name, rows), None, keyed)

    assert outcome.status == "loaded" and outcome.rows_quarantined == 10, outcome.line()
    assert outcome.line().startswith("~_~-~_spring_2024.csv: loaded (pupil_census")
    assert outcome.docs_pages, "GX validated the batch and wrote its page"
    held = ledger.query(keyed.warehouse, "SELECT source_row_number, reasons, record FROM etl_quarantine")
    first = held.row(0, named=True)
    assert first["source_row_number"] == 3  # rows[1], under the header
    assert "primary_need_known (primary_need=invalid)" in first["reasons"]
    record = json.loads(first["record"])
    assert {record[c] for c in NOT_IDENTIFIERS if c != "ReferenceDate"} == {"invalid"}
    assert record["ReferenceDate"] == "withheld" and len(record["pupil_key"]) == 64
    assert not set(PUPIL_CSV.personal) & set(record)
    _assert_nothing_personal(keyed, outcome, _secrets(rows), caplog, "".join(capsys.readouterr()))


def test_a_shifted_return_that_is_refused_leaks_nothing_and_is_kept_owner_only(
    keyed: Context, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    clean = pupils(School("202", "2019", pupils=298, ehc=12, support=57))
    rows = _shifted(clean, every=3)  # a third of the rows: above the threshold, refused whole
    name = f"{clean[5]['Surname']} {clean[5]['UPN']} {clean[5]['DOB']} census 2023-24.csv"
    landed = write_csv(keyed.settings.landing_dir / "processing" / name, rows)

    outcome = ingest_path(landed, None, keyed)

    assert outcome.status == "rejected" and "failed validation" in outcome.message, outcome.line()
    assert "First failures: row 3:" in outcome.message and "=invalid" in outcome.message
    rejected = sorted((keyed.settings.landing_dir / "rejected").iterdir())
    shown = f"~-~ ~ {clean[5]['DOB'][:4]}-~-~ census 2023-24.csv"  # a year alone is kept; the rest is not
    assert [p.name.split("_", 1)[1] for p in rejected] == [shown, shown + ".reason.txt"]
    assert {stat.S_IMODE(p.stat().st_mode) for p in rejected} == {0o600}
    assert not landed.exists()
    _assert_nothing_personal(keyed, outcome, _secrets(rows), caplog, "".join(capsys.readouterr()))

    assert set(rejected) <= set(purge_pupil_files(keyed.settings, older_than_days=-1))  # purged like bronze
    assert not any(p.exists() for p in rejected)


def test_one_pupil_single_registered_at_two_schools_is_held_back_naming_the_other_row(
    keyed: Context, tmp_path: Path
) -> None:
    first = pupils(School("201", "3614", pupils=244, ehc=11, support=59))
    second = pupils(School("202", "2019", pupils=298, ehc=12, support=57))
    twice = {**second[40], "UPN": first[10]["UPN"]}  # both EnrolStatus C: a duplicate COLLECT would list
    main, subsidiary = {**first[20], "EnrolStatus": "M"}, {**second[50], "UPN": first[20]["UPN"], "EnrolStatus": "S"}
    rows = [*first[:20], main, *first[21:], *second[:40], twice, *second[41:50], subsidiary, *second[51:]]

    outcome = ingest_path(write_csv(tmp_path / "trust_spring_2024.csv", rows), None, keyed)

    assert outcome.status == "loaded" and outcome.rows_quarantined == 2, outcome.line()
    held = ledger.query(keyed.warehouse, f"SELECT * FROM etl_quarantine WHERE load_id = {outcome.load_id}")
    assert dict(held.select("source_row_number", "reasons").rows()) == {
        12: "one_school_per_single_registration (also_single_registered_at_row=286)",
        286: "one_school_per_single_registration (also_single_registered_at_row=12)",
    }
    assert ("one_school_per_single_registration", 2) in outcome.checks_failed
    assert first[10]["UPN"] not in held.write_csv()
    dual = ledger.query(keyed.warehouse, f"SELECT enrol_status FROM fct_pupil_census WHERE load_id = {outcome.load_id}")
    assert sorted(dual.filter(pl.col("enrol_status") != "C")["enrol_status"]) == ["M", "S"]  # dual registration kept


def test_a_duplicate_across_batches_holds_back_the_later_row(
    keyed: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = pupils(School("201", "3614", pupils=244, ehc=11, support=59))
    second = pupils(School("202", "2019", pupils=298, ehc=12, support=57))
    second[7] = {**second[7], "UPN": first[3]["UPN"]}
    monkeypatch.setattr(sendflow.intake.reader, "HEAD_BYTES", 256)  # a large file: read in school-aligned pieces
    monkeypatch.setattr(sendflow.loading.file_load, "BATCH_ROWS", 100)

    outcome = ingest_path(write_csv(tmp_path / "batched_spring_2024.csv", [*first, *second]), None, keyed)

    assert outcome.status == "loaded" and len(outcome.docs_pages) >= 2, outcome.line()  # several batches
    held = ledger.query(
        keyed.warehouse, f"SELECT source_row_number, reasons FROM etl_quarantine WHERE load_id = {outcome.load_id}"
    )
    assert held.rows() == [(253, "one_school_per_single_registration (also_single_registered_at_row=5)")]


@pytest.mark.parametrize(
    ("name", "personal", "shown"),
    [
        ("A201361416001_Adams_spring_2024.csv", True, "~_~_spring_2024.csv"),
        ("A201361416001_Adams_spring_2024.csv", False, "~_Adams_spring_2024.csv"),
        ("england_census_2023-24.csv", False, "england_census_2023-24.csv"),
        ("returns_spring_2024.csv", True, "returns_spring_2024.csv"),
        ("Census 201 3614 - Adams, John 20120304.xlsx", True, "Census 201 3614 - ~ ~ ~.xlsx"),
        ("census_2023-25_dob_12-03.csv", True, "census_2023-~_~_~-~.csv"),
        ("zoë_b20136141600z.csv", True, "~_~.csv"),
    ],
)
def test_a_file_name_is_shown_without_what_looks_like_a_pupil(name: str, personal: bool, shown: str) -> None:
    assert source_label(name, personal) == shown


def test_the_shown_name_is_decided_by_the_head_and_remembered_after_the_file_moves(tmp_path: Path) -> None:
    rows = pupils(School("201", "3614", pupils=3, ehc=0, support=0))
    pupil_file = write_csv(tmp_path / f"{rows[0]['Surname']}_spring_2024.csv", rows)
    other = tmp_path / f"{rows[0]['Surname']}_england_census_2023-24.csv"
    other.write_bytes(CENSUS.read_bytes())

    assert shown_name(pupil_file) == "~-~_spring_2024.csv"
    assert shown_name(other) == other.name  # not pupil data: only UPN-shaped parts would go
    pupil_file.rename(tmp_path / "moved.csv")
    assert shown_name(pupil_file) == "~-~_spring_2024.csv"  # the outcome, built after the move, agrees


def test_a_pupil_file_without_its_header_is_still_named_as_one(tmp_path: Path) -> None:
    rows = pupils(School("201", "3614", pupils=3, ehc=0, support=0))
    headerless = tmp_path / f"{rows[1]['Surname']}_spring_2024.csv"
    headerless.write_text("\n".join(",".join(row.values()) for row in rows) + "\n", encoding="utf-8")

    assert shown_name(headerless) == "~-~_spring_2024.csv"  # a UPN where the header should be


def test_every_personal_dataset_declares_what_it_may_show_and_no_personal_column() -> None:
    for dataset in (d for d in DATASETS if d.personal):
        assert dataset.suite.disclose is not None, dataset.name
        personal = {c for layout in dataset.layouts for c in layout.personal}
        assert not personal & set(dataset.suite.disclose.formats), dataset.name


def test_a_repeat_of_a_pupil_return_is_named_as_its_full_offer_names_it(keyed: Context, tmp_path: Path) -> None:
    """A repeat is answered before the file's head is read (loading/repeats.py), so its shown name comes from
    the dataset its bytes were loaded as: it must be the name the full offer gives, surname and UPN hidden."""
    rows = pupils(School("201", "3614", pupils=30, ehc=2, support=5), seed=7)
    first = write_csv(tmp_path / "pupil_census_spring_2024.csv", rows)
    assert ingest_path(first, None, keyed).status == "loaded"
    resent = tmp_path / f"{rows[0]['UPN']}_{rows[0]['Surname']}_spring_2024.csv"
    shutil.copyfile(first, resent)

    outcome = answer_repeat(resent, Warehouse(keyed.warehouse.url, single_rows=True), keyed.settings.home)

    assert outcome is not None and outcome.status == "duplicate"
    assert (
        outcome.name == shown_name(resent)
        and outcome.name.startswith("~_~")
        and outcome.name.endswith("_spring_2024.csv")
    )
    recorded = ledger.query(keyed.warehouse, f"SELECT * FROM etl_load WHERE load_id = {outcome.load_id}").row(
        0, named=True
    )
    assert recorded["source_name"] == outcome.name and recorded["dataset"] == "pupil_census"
    assert not _leaks(repr(recorded) + outcome.line(), _secrets(rows))
    never_loaded = write_csv(tmp_path / "other.csv", rows[:10])
    assert answer_repeat(never_loaded, Warehouse(keyed.warehouse.url, single_rows=True), keyed.settings.home) is None
