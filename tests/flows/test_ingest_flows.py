"""The ingest flows under a real Prefect server: idempotent when run twice, run records as artifacts,
per-dataset publish limits, and the same warehouse from a Dask cluster as from the thread pool."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from sendflow.core.files import sha256_of
from sendflow.core.settings import Settings
from sendflow.flows.ingest import ingest_extract, with_task_runner
from sendflow.flows.task_runners import TaskRunnerError, task_runner_for
from sendflow.warehouse import ledger
from sendflow.warehouse.connection import Warehouse
from tests.conftest import SAMPLE_DIR, count_rows

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_server")]

CENSUS = SAMPLE_DIR / "england_census_2023-24.csv"
KEY = "ingest-school-census"


def _landed(settings: Settings, source: Path = CENSUS) -> Path:
    processing = settings.landing_dir / "processing"
    processing.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(source, processing / source.name))


def _loads(settings: Settings) -> list[tuple[str, str]]:
    frame = ledger.query(Warehouse(settings.warehouse_url), "SELECT status, source_name FROM etl_load ORDER BY load_id")
    return [(str(status), str(name)) for status, name in frame.rows()]


def test_the_same_event_run_twice_loads_once(sendflow_env: Settings) -> None:
    landed = _landed(sendflow_env)
    sha256 = sha256_of(landed)

    first = ingest_extract(str(landed), sha256)
    second = ingest_extract(str(landed), sha256)  # as a duplicating orchestrator would

    assert first.status == "loaded" and second.status == "duplicate"
    assert "same bytes as load 1" in second.message
    assert not landed.exists()  # bronze keeps the bytes; the landing zone does not
    assert _loads(sendflow_env) == [("loaded", CENSUS.name), ("duplicate", CENSUS.name)]
    assert count_rows(Warehouse(sendflow_env.warehouse_url), "fct_school_census") == first.rows_loaded


def test_a_file_changed_after_it_landed_is_not_loaded(sendflow_env: Settings) -> None:
    landed = _landed(sendflow_env)
    announced = sha256_of(landed)
    with open(landed, "a") as edited:
        edited.write("999999,201,Edited after landing\n")

    outcome = ingest_extract(str(landed), announced)

    assert outcome.status == "failed" and "changed after it landed" in outcome.message
    assert landed.exists()  # left for a person to look at


def test_each_run_publishes_a_table_and_a_page_linking_gx_data_docs(sendflow_env: Settings, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    bad = tmp_path / "england_census_2023-24.csv"
    lines = CENSUS.read_text().splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[0], "12345X", 1)  # an URN the suite refuses
    bad.write_text("\n".join(lines) + "\n")
    outcome = ingest_extract(str(_landed(sendflow_env, bad)), sha256_of(bad))
    assert outcome.status == "loaded" and outcome.rows_quarantined == 1

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[KEY, KEY + "-report"])),
            sort=ArtifactSort.CREATED_DESC,
        )
    table = next(a for a in found if a.type == "table")
    page = next(a for a in found if a.type == "markdown")
    measures = {row["measure"]: row["value"] for row in _rows(table.data)}
    assert measures["rows loaded"] == outcome.rows_loaded and measures["rows quarantined"] == 1
    assert any(m.startswith("check failed: ") for m in measures)
    assert outcome.docs_pages and all(Path(p).is_file() for p in outcome.docs_pages)
    assert outcome.docs_pages[0] in str(page.data) and "file://" not in str(page.data)  # no file server here
    assert "12345X" in Path(outcome.docs_pages[0]).read_text()  # GX's own page shows the failing value


def _rows(data: object) -> list[dict]:
    import json

    parsed = json.loads(data) if isinstance(data, str) else data
    return list(parsed)  # type: ignore[arg-type]


def test_a_rejected_file_s_page_carries_the_intake_s_error(sendflow_env: Settings, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    junk = tmp_path / "notes.csv"
    junk.write_text("what,why\n1,2\n")
    outcome = ingest_extract(str(_landed(sendflow_env, junk)), sha256_of(junk))

    assert outcome.status == "rejected"
    with get_client(sync_client=True) as client:
        [page] = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["ingest-unidentified-report"])),
            sort=ArtifactSort.CREATED_DESC, limit=1,
        )  # fmt: skip
    assert "unknown header [what, why]" in str(page.data)
    assert (sendflow_env.landing_dir / "rejected").glob("*notes.csv.reason.txt")


def test_publishing_is_limited_to_one_run_per_dataset(sendflow_env: Settings) -> None:
    from prefect.client.orchestration import get_client

    ingest_extract(str(_landed(sendflow_env)), sha256_of(CENSUS))
    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name("sendflow-publish-school-census")  # as README names it
    assert limit.limit == 1 and limit.active


def test_task_runner_settings_are_checked() -> None:
    assert type(task_runner_for("threads")).__name__ == "ThreadPoolTaskRunner"
    assert task_runner_for("threads:3")._max_workers == 3  # no public accessor
    assert type(task_runner_for("dask://10.0.0.5:8786")).__name__ == "DaskTaskRunner"
    for bad in ("dask://", "threads:many", "processes"):
        with pytest.raises(TaskRunnerError):
            task_runner_for(bad)


SAMPLES = [
    "england_school_information_2023-24.csv",
    "england_census_2018-19.csv",
    "england_census_2023-24.csv",
    "ehcp_caseload_2025.csv",
]
COMPARED = {
    "fct_school_census": ["academic_year", "urn"],
    "dim_school": ["urn", "valid_from"],
    "fct_la_ehcp": None,
}


def _warehouse_content(settings: Settings) -> dict[str, pl.DataFrame]:
    warehouse = Warehouse(settings.warehouse_url)
    content = {}
    for table in COMPARED:
        frame = ledger.read_table(warehouse, table)
        frame = frame.drop([c for c in frame.columns if c.endswith("load_id")])
        content[table] = frame.sort(frame.columns)
    return content


def test_a_dask_cluster_gives_the_same_warehouse_as_the_thread_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed import LocalCluster
    from prefect.settings import PREFECT_API_URL

    files = [str(SAMPLE_DIR / name) for name in SAMPLES]
    threads = Settings(home=tmp_path / "threads")
    monkeypatch.setenv("SENDFLOW_HOME", str(threads.home))
    by_threads = with_task_runner(threads)(files)

    # Dask workers are separate processes: they find the Prefect API and the warehouse from the environment.
    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        address = cluster.scheduler_address.removeprefix("tcp://")
        dask = Settings(home=tmp_path / "dask", task_runner=f"dask://{address}")
        monkeypatch.setenv("SENDFLOW_HOME", str(dask.home))
        monkeypatch.setenv("SENDFLOW_TASK_RUNNER", dask.task_runner)
        by_dask = with_task_runner(dask)(files)

    assert [o.status for o in by_threads] == [o.status for o in by_dask] == ["loaded"] * len(SAMPLES)
    assert [o.rows_loaded for o in by_threads] == [o.rows_loaded for o in by_dask]
    left, right = _warehouse_content(threads), _warehouse_content(dask)
    for table in COMPARED:
        assert left[table].height > 0
        assert left[table].equals(right[table]), table


def test_the_watcher_on_its_own_loads_what_lands_and_refuses_what_is_unsafe(
    sendflow_env: Settings, tmp_path: Path
) -> None:
    """No served deployment would hear an event, so `sendflow watch --mode inline` loads through ingest-extract."""
    import threading

    from sendflow.flows.watch import delivery_for, load_here, watch

    settings = sendflow_env.model_copy(update={"watch_settle_seconds": 0, "watch_interval_seconds": 0.1})
    settings.landing_dir.mkdir(parents=True)
    shutil.copyfile(CENSUS, settings.landing_dir / CENSUS.name)
    (settings.landing_dir / "elsewhere.csv").symlink_to(CENSUS)
    lines: list[str] = []

    handled = watch(settings, delivery_for("inline"), threading.Event(), once=True, report=lines.append)

    assert delivery_for("inline") is load_here and handled == 2
    assert any(
        line.startswith(f"accepted {CENSUS.name}") and ": loaded (school_census 2023/24" in line for line in lines
    )
    assert any(line.startswith("refused: elsewhere.csv is a symbolic link") for line in lines)
    assert _loads(settings) == [("loaded", CENSUS.name)]
    assert not list((settings.landing_dir / "processing").iterdir())


def test_one_run_offers_every_file_whatever_one_of_them_does(sendflow_env: Settings, tmp_path: Path) -> None:
    """A field far past every limit, a file that is not there, and a sound file: each gets its own outcome
    and ledger row, in the order given, and the sound file loads (one bad file once ended the whole run)."""
    header, first = CENSUS.read_text(encoding="utf-8").splitlines()[:2]
    giant = tmp_path / "giant_census_2023-24.csv"
    cells = first.split(",")
    cells[3] = "x" * (9 * 1024 * 1024)  # past Python's csv limit as well as the project's
    giant.write_text(f"{header}\n{','.join(cells)}\n", encoding="utf-8")

    outcomes = with_task_runner(sendflow_env)([str(giant), str(tmp_path / "gone_2023-24.csv"), str(CENSUS)])

    assert [str(o.status) for o in outcomes] == ["rejected", "failed", "loaded"]
    assert "row 2, column 'SCHOOLTYPE'" in outcomes[0].message and "limit" in outcomes[0].message
    assert "FileNotFoundError" in outcomes[1].message
    # The files run side by side, so their ledger rows may be written in any order: matched by name.
    assert sorted(_loads(sendflow_env), key=lambda row: row[1]) == [
        ("loaded", CENSUS.name), ("rejected", giant.name), ("failed", "gone_2023-24.csv"),
    ]  # fmt: skip
