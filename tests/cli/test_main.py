"""The CLI contract other tools rely on: one line per file and exit codes 0 / 1 / 2, through real Prefect runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sendflow.cli.demo import DEMO_TRUST_ID, SAMPLE_FILES
from sendflow.cli.main import main
from sendflow.core.settings import Settings
from sendflow.warehouse.connection import Warehouse
from tests.conftest import SAMPLE_DIR, count_rows

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_server")]

CENSUS = SAMPLE_DIR / "england_census_2023-24.csv"
DEMO_TRUST_SCHOOLS = 8  # Montsaye Community Learning Partnership in GIAS's links of 3 April 2017


def test_ingest_prints_one_line_per_file_and_exits_by_outcome(
    sendflow_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "notes.csv"
    junk.write_text("what,why\n1,2\n")
    copy = tmp_path / "resent.csv"
    shutil.copyfile(CENSUS, copy)

    assert main(["ingest", str(CENSUS)]) == 0
    assert main(["ingest", str(copy)]) == 0
    assert main(["ingest", str(junk), str(CENSUS)]) == 1

    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("england_census_2023-24.csv: loaded (school_census 2023/24")
    assert lines[1].startswith("resent.csv: duplicate (same bytes as load 1")
    assert lines[2].startswith("notes.csv: rejected: ") and "unknown header" in lines[2]
    assert lines[3].startswith("england_census_2023-24.csv: duplicate")
    assert len(lines) == 4


def test_usage_errors_exit_2(sendflow_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", "/no/such/file.csv"]) == 2
    for argv in (["ingest", str(CENSUS), "--academic-year", "2023-25"], ["ingest"], ["frobnicate"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
    assert "no such file" in capsys.readouterr().err


def test_status_lists_recent_loads(sendflow_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    main(["ingest", str(CENSUS)])
    capsys.readouterr()

    assert main(["status"]) == 0

    out = capsys.readouterr().out
    assert "loaded" in out and "england_census_2023-24.csv" in out and "2023/24" in out


def test_demo_loads_the_samples_then_changes_nothing_on_a_second_run(
    sendflow_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo"]) == 0
    first = capsys.readouterr().out
    warehouse = Warehouse(sendflow_env.warehouse_url)
    census_rows = count_rows(warehouse, "fct_school_census")

    assert main(["demo"]) == 0
    second = capsys.readouterr().out

    # The bundled files, then one synthetic return per school of the demo trust (the same bytes each run).
    files = len(SAMPLE_FILES) + DEMO_TRUST_SCHOOLS
    assert first.count(": loaded (") == files and "Per LA and year" in first and "Westmorland and Furness" in first
    assert first.count(": loaded (pupil_census 2018/19/spring/") == DEMO_TRUST_SCHOOLS
    assert "£ per EHC plan" in first
    assert second.count(": duplicate (") == files and "already loaded: nothing changed" in second
    assert count_rows(warehouse, "fct_school_census") == census_rows
    assert count_rows(warehouse, "etl_load", "WHERE status = 'loaded'") == files
    report = sendflow_env.reports_dir / f"trust-{DEMO_TRUST_ID}" / f"trust-{DEMO_TRUST_ID}-2018-19.html"
    assert (
        "The SEND report of a real trust, PATHFINDER SCHOOLS (members as in GIAS's trust links of 3 April 2017"
        in second
    )
    assert str(report) in second and report.is_file()
    page = report.read_text(encoding="utf-8")
    assert "membership as at 3 April 2017 (GIAS group links), 21 months before the census day" in page
    assert "2023/24 is not reported as the trust&#x27;s" in page and "Synthetic pupil data:" in page
