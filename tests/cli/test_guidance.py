"""A CLI that guides: one home for every command, a read-only `status` that says how to make a warehouse,
`db upgrade` on a missing PostgreSQL database, `--version`, full `--help` and `purge --dry-run`."""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import psycopg
import pytest

from sendflow.cli.main import _parser, main
from sendflow.core.settings import Settings
from sendflow.loading.file_load import Context, ingest_path
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.schema import ensure_schema
from sendflow.warehouse.views import VIEWS
from tests.conftest import SAMPLE_DIR

CENSUS = SAMPLE_DIR / "england_census_2023-24.csv"
PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_sendflow_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """As a new user's shell: no SENDFLOW_ variable says where the home or warehouse is."""
    for name in list(os.environ):
        if name.startswith("SENDFLOW_"):
            monkeypatch.delenv(name)


def _tree(path: Path) -> list[Path]:
    return sorted(path.rglob("*"))


@pytest.mark.usefixtures("no_sendflow_environment")
def test_the_home_is_the_nearest_var_that_is_a_sendflow_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    (project / "var" / "lake").mkdir(parents=True)
    deep = project / "reports" / "2024"
    (project / "reports" / "var").mkdir(parents=True)  # a var/ that is not a home is passed over
    deep.mkdir()
    monkeypatch.chdir(deep)

    assert Settings().home == project / "var"
    assert Settings().warehouse_url == f"sqlite:///{project / 'var' / 'warehouse.sqlite'}"
    assert Settings(home=tmp_path / "given").home == tmp_path / "given"  # an explicit home is never replaced
    monkeypatch.setenv("SENDFLOW_HOME", str(tmp_path / "chosen"))
    assert Settings().home == tmp_path / "chosen"

    monkeypatch.delenv("SENDFLOW_HOME")
    (project / "reports" / "var" / "warehouse.sqlite").touch()  # now the nearer one is a home
    assert Settings().home == project / "reports" / "var"

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert Settings().home == elsewhere / "var"  # none found: ./var, as before


def test_status_with_no_warehouse_says_how_to_make_one_and_creates_nothing(tmp_path: Path) -> None:
    """A real process, as a user would run it, from a folder with no sendflow home in it or above it."""
    empty = tmp_path / "somewhere"
    empty.mkdir()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SENDFLOW_")}
    environment["PYTHONPATH"] = str(PROJECT)

    done = subprocess.run(
        [sys.executable, "-m", "sendflow.cli.main", "status"],
        cwd=empty, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2, done.stderr
    assert str(empty / "var") in lines[0] and "no warehouse" in lines[0]
    assert "make demo" in lines[1] and "sendflow ingest FILE" in lines[1] and "sendflow db upgrade" in lines[1]
    assert _tree(tmp_path) == [empty]


@pytest.mark.usefixtures("no_sendflow_environment")
def test_status_in_a_home_without_a_warehouse_leaves_it_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "var" / "landing").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    before = _tree(tmp_path)

    assert main(["status"]) == 1

    assert f"no warehouse at {tmp_path / 'var' / 'warehouse.sqlite'}" in capsys.readouterr().err
    assert _tree(tmp_path) == before


def test_status_reads_only_and_fits_a_100_column_terminal(
    sendflow_env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    context = Context.from_settings(sendflow_env)
    ensure_schema(context.warehouse)
    long_census = tmp_path / f"england_census_2023-24_{'resubmitted_after_the_deadline_' * 4}final.csv"
    shutil.copyfile(CENSUS, long_census)
    notes = tmp_path / f"notes_{'about_the_autumn_term_return_' * 4}.csv"
    notes.write_text("what,why\n1,2\n")
    assert ingest_path(long_census, None, context).status == "loaded"
    assert ingest_path(notes, None, context).status == "rejected"
    # ensure_schema would put a dropped view back: status must not run it, nor any other DDL.
    dropped = VIEWS[0].name
    with sqlite3.connect(sendflow_env.home / "warehouse.sqlite") as connection:
        connection.execute(f"DROP VIEW {dropped}")
    schema_before = _sqlite_schema(context.warehouse)
    monkeypatch.setenv("COLUMNS", "100")

    assert main(["status"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if len(line) > 100] == []
    assert lines[1].split() == ["load", "finished", "status", "file", "into", "rows", "quarantined"]
    rejected, message, loaded = lines[3:6]
    assert rejected.split()[:1] == ["2"] and " rejected " in rejected and "notes_" in rejected and "…" in rejected
    assert message.strip().startswith("unknown header [what, why]; nearest layout") and message.endswith("…")
    assert " loaded " in loaded and "england_census" in loaded and "final.csv" in loaded
    assert "school_census 2023/24" in loaded
    assert _sqlite_schema(context.warehouse) == schema_before
    assert dropped not in {name for name, _ in schema_before}


def _sqlite_schema(warehouse: Warehouse) -> list[tuple[str, str]]:
    with sqlite3.connect(warehouse.sqlite_path) as connection:
        return connection.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()


@pytest.fixture
def missing_database(postgres_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """The name of a PostgreSQL database that does not exist yet (mixed case and a hyphen: it must be quoted),
    set as the warehouse; dropped afterwards if a test made it."""
    name = f"sendflow_Guide-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("SENDFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SENDFLOW_WAREHOUSE_URL", f"{postgres_server.rsplit('/', 1)[0]}/{name}")
    yield name
    with psycopg.connect(postgres_server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _database_exists(admin_url: str, name: str) -> bool:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def test_db_upgrade_names_a_missing_database_and_creates_it_when_asked(
    missing_database: str, postgres_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 1
    told = capsys.readouterr().err
    assert "Traceback" not in told and len(told.strip().splitlines()) == 2
    assert f'"{missing_database}" does not exist on 127.0.0.1:5432' in told
    assert "sendflow db upgrade --create" in told
    assert f"createdb -h 127.0.0.1 -p 5432 -U postgres {missing_database}` then `sendflow db upgrade`" in told
    assert main(["status"]) == 1
    assert f'"{missing_database}" does not exist' in capsys.readouterr().err
    assert not _database_exists(postgres_server, missing_database)

    assert main(["db", "upgrade", "--create"]) == 0

    assert _database_exists(postgres_server, missing_database)
    assert f"schema is current in PostgreSQL 127.0.0.1:5432/{missing_database}" in capsys.readouterr().out
    assert main(["status"]) == 0
    assert "No loads yet" in capsys.readouterr().out
    assert main(["db", "upgrade", "--create"]) == 0  # it exists now: only the migration runs


def test_status_on_a_database_without_the_ledger_says_to_upgrade(
    missing_database: str, postgres_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(postgres_server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{missing_database}"')

    assert main(["status"]) == 1

    told = capsys.readouterr().err
    assert f"no warehouse tables (etl_load) in PostgreSQL 127.0.0.1:5432/{missing_database}" in told
    assert "sendflow db upgrade" in told
    url = os.environ["SENDFLOW_WAREHOUSE_URL"]
    with psycopg.connect(url) as connection:  # and it made none
        tables = connection.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        assert tables.fetchone() == (0,)


def test_a_server_that_does_not_answer_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("SENDFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SENDFLOW_WAREHOUSE_URL", f"postgresql://postgres@127.0.0.1:{port}/sendflow")

    for argv in (["db", "upgrade"], ["db", "upgrade", "--create"], ["status"]):
        assert main(argv) == 1
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert f'cannot open PostgreSQL database "sendflow" on 127.0.0.1:{port}' in line
        assert "Connection refused" in line


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])

    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"sendflow {version('sendflow')}\n"


def _parsers(parser: argparse.ArgumentParser, name: str) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {command}")


def test_every_command_and_option_has_help() -> None:
    undescribed, unhelped = [], []
    for name, parser in _parsers(_parser(), "sendflow"):
        if not parser.description:
            undescribed.append(name)
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if not action.help:
                unhelped.append(f"{name} {action.option_strings or action.dest}")
            if isinstance(action, argparse._SubParsersAction):
                unhelped += [f"{name} {choice.dest}" for choice in action._choices_actions if not choice.help]

    assert (undescribed, unhelped) == ([], [])
    assert len(list(_parsers(_parser(), "sendflow"))) > 12  # the walk reached the sub-commands


def test_ingest_help_says_what_a_path_may_be(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["ingest", "--help"])

    text = " ".join(capsys.readouterr().out.split())
    for kind in ("CSV", ".txt", "XLSX", "XLSM", "XLS,", "ODS", "school census XML", "not folders"):
        assert kind in text, kind
    assert "--academic-year YEAR" in text and "whose columns do not hold one" in text


def test_purge_dry_run_lists_and_keeps_then_purge_deletes(
    sendflow_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    context = Context.from_settings(sendflow_env)
    ensure_schema(context.warehouse)
    unknown = tmp_path / "export.csv"  # never identified: it may be a pupil file, so it is purged as one
    unknown.write_text("Forename,Surname\nAda,Lovelace\n")
    assert ingest_path(unknown, None, context).status == "rejected"
    kept = sorted((sendflow_env.landing_dir / "rejected").iterdir())
    assert len(kept) == 2  # the copy and its reason

    assert main(["purge", "--pupil-level", "--older-than", "1", "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("would purge 0 raw pupil-level file(s) older than 1 day(s)")

    assert main(["purge", "--pupil-level", "--older-than", "-1", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "would purge 2 raw pupil-level file(s) older than -1 day(s)"
    assert sorted(Path(line.strip()) for line in out[1:]) == kept
    assert sorted((sendflow_env.landing_dir / "rejected").iterdir()) == kept

    assert main(["purge", "--pupil-level", "--older-than", "-1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "purged 2 raw pupil-level file(s) older than -1 day(s)"
    assert sorted(Path(line.strip()) for line in out[1:]) == kept
    assert list((sendflow_env.landing_dir / "rejected").iterdir()) == []


@pytest.mark.usefixtures("no_sendflow_environment")
def test_purge_with_no_warehouse_purges_nothing_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    assert main(["purge", "--pupil-level", "--older-than", "0"]) == 0

    assert capsys.readouterr().out.startswith("purged 0 ")
    assert _tree(tmp_path) == []
