"""A pupil-level load through the CLI and Prefect: nothing personal in output, logs or the Prefect API."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sendflow.cli.main import main
from sendflow.core.settings import Settings
from tests.conftest import SAMPLE_DIR
from tests.pupils import School, personal_values, pupils, write_csv

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_server")]


@pytest.mark.parametrize("served", [True, False], ids=["served", "in-process"])
def test_a_pupil_level_load_prints_its_reconciliation_and_leaks_nothing(
    served: bool,
    sendflow_env: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from prefect.settings import PREFECT_API_URL

    monkeypatch.setenv("SENDFLOW_PUPIL_KEY", "a test key, not a real one")
    # A configured server: the command runs as Prefect flows there, whose logs, runs and artifacts are read below.
    if served:
        monkeypatch.setenv("PREFECT_API_URL", str(PREFECT_API_URL.value()))
    else:  # by hand the Polars translation checks, unless told: here GX, for its Data Docs page to be read
        monkeypatch.setenv("SENDFLOW_HAND_RUN_GX_MAX_ROWS", "250000")
    caplog.set_level(logging.DEBUG)
    rows = pupils(School("201", "3614", pupils=244, ehc=11, support=59))  # URN 100000's published counts
    rows[7] = {**rows[7], "UPN": rows[7]["UPN"].lower()}  # one quarantined row, whose UPN must not show
    # Named, as a hand-made export may be, with a pupil's UPN and surname: neither may be shown.
    returns = write_csv(tmp_path / f"{rows[3]['UPN']}_{rows[3]['Surname']}_spring_2024.csv", rows)
    assert main(["ingest", str(SAMPLE_DIR / "england_census_2023-24.csv")]) == 0

    assert main(["ingest", str(returns)]) == 0

    captured = capsys.readouterr()
    out = captured.out + captured.err  # results, and the progress lines on stderr
    assert "~_~-~_spring_2024.csv: loaded (pupil_census" in out
    assert "Reconciliation against the published school census: 1 school census(es), 1 with differences" in out
    secrets = personal_values(rows) | {rows[7]["UPN"]}
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert not [s for s in secrets if s in out or s in logged]
    if served:
        prefect_logs, artifacts = _prefect_log_text(), _prefect_artifact_text()  # once each: a client per call
        assert not [s for s in secrets if s in prefect_logs]
        assert not [s for s in secrets if s in artifacts]
        task_runs = _prefect_task_run_names()
        assert "ingest ~_~-~_spring_2024.csv" in task_runs
        assert not [s for s in secrets if s in "\n".join(task_runs)]
    pages = list((sendflow_env.data_docs_dir / "pupil_census").glob("*.html"))
    assert pages, "the pupil-level validation has its GX Data Docs page"
    assert not [s for s in secrets for page in pages if s in page.read_text()]


def _prefect_log_text() -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return "\n".join(log.message for log in client.read_logs())


def _prefect_task_run_names() -> list[str]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return [run.name for run in client.read_task_runs()]


def _prefect_artifact_text() -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return "\n".join(str(artifact.data) + str(artifact.description) for artifact in client.read_artifacts())


def test_the_key_can_come_from_a_prefect_secret_block(tmp_path: Path) -> None:
    from prefect.blocks.system import Secret
    from pydantic import SecretStr

    Secret(value=SecretStr("key from a block")).save("sendflow-test-pupil-key", overwrite=True)

    settings = Settings(home=tmp_path, pupil_key_block="sendflow-test-pupil-key")

    assert settings.pupil_key_bytes() == b"key from a block"
