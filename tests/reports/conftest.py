"""A warehouse holding what `make demo` loads, for the report tests: built once by real ingests of the sample
files (and synthetic returns of the demo trust), then copied into each test's own `context`.

Copying the SQLite file is safe here: no session holds it open between queries (warehouse/connection.py), and
the copy goes over a file no connection has open either.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import SecretStr

from sendflow.cli.demo import SAMPLE_FILES  # the demo's own files: the tests report on what `make demo` loads
from sendflow.core.settings import Settings
from sendflow.loading.file_load import Context, ingest_path
from sendflow.synthetic.writers import generate_census
from sendflow.warehouse.schema import ensure_schema
from tests.conftest import INVENTED_TRUST_FILE, INVENTED_TRUST_ID, SAMPLE_DIR

YEAR = "2023/24"


def load_demo(context: Context, seed: int) -> None:
    """What `make demo` loads, and the invented trust of the tests, with synthetic 2023/24 spring returns of
    its schools."""
    for path in [*(SAMPLE_DIR / name for name in SAMPLE_FILES), INVENTED_TRUST_FILE]:
        outcome = ingest_path(path, None, context)
        assert outcome.status == "loaded", outcome.line()
    returns = generate_census(
        context.warehouse, trust_id=INVENTED_TRUST_ID, academic_year=YEAR, term="spring", file_format="csv", seed=seed,
        out_dir=context.settings.home / "returns",
    ).paths  # fmt: skip
    for path in returns:
        outcome = ingest_path(path, None, context)
        assert outcome.status == "loaded", outcome.line()


@pytest.fixture(scope="session")
def demo_returns_seed() -> int:
    return 7


@pytest.fixture(scope="session")
def demo_warehouse_file(tmp_path_factory: pytest.TempPathFactory, demo_returns_seed: int) -> Path:
    settings = Settings(home=tmp_path_factory.mktemp("report-warehouse"), pupil_key=SecretStr("report-tests-key"))
    context = Context.from_settings(settings)
    ensure_schema(context.warehouse)
    load_demo(context, demo_returns_seed)
    return context.warehouse.sqlite_path


@pytest.fixture
def report_context(context: Context, demo_warehouse_file: Path) -> Context:
    """The test's own `context`, holding a copy of the demo warehouse."""
    target = context.warehouse.sqlite_path
    for stale in target.parent.glob(target.name + "-*"):  # WAL and shared-memory files of the empty one
        stale.unlink()
    shutil.copyfile(demo_warehouse_file, target)
    return context
