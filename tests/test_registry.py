"""Every registered dataset has all its parts, in the places the layout promises."""

from __future__ import annotations

import importlib
import json
from datetime import date

import pytest
from pydantic import SecretStr

from sendflow.core.settings import Settings
from sendflow.core.vocabulary import LoadStatus
from sendflow.expectations.suite import Suite
from sendflow.loading.events import loaded_event_payload
from sendflow.loading.file_load import Context, ingest_path
from sendflow.loading.outcomes import FileOutcome
from sendflow.registry.datasets import DATASETS, Dataset
from sendflow.registry.partitions import Partition, replaced, summary, years_of
from sendflow.reports.affected import trusts_affected_by
from sendflow.synthetic.writers import generate_census
from sendflow.warehouse import models
from sendflow.warehouse.schema import ensure_schema
from tests.conftest import INVENTED_TRUST_FILE, INVENTED_TRUST_ID, PROJECT, SAMPLE_DIR
from tests.loading.test_file_load_membership import _gias_file
from tests.reports.conftest import SAMPLE_FILES


@pytest.mark.parametrize("dataset", DATASETS, ids=lambda d: d.name)
def test_dataset_has_a_module_in_every_layer(dataset: Dataset) -> None:
    transform = importlib.import_module(f"sendflow.transforms.{dataset.name}")
    expectations = importlib.import_module(f"sendflow.expectations.{dataset.name}")
    model_module = importlib.import_module(f"sendflow.warehouse.models.{dataset.name}")

    assert transform.LAYOUTS and all(layout.dataset == dataset.name for layout in transform.LAYOUTS)
    assert dataset.build is transform.build
    assert isinstance(expectations.SUITE, Suite) and expectations.SUITE is dataset.suite
    assert expectations.SUITE.grain.strip(), "a suite states its grain in a sentence"
    tables_in_module = {
        getattr(obj, "__tablename__", None) for obj in vars(model_module).values() if isinstance(obj, type)
    }
    for table in (dataset.table, *dataset.derived):
        assert table in models.metadata.tables, f"{table} is not a warehouse table"
    assert dataset.table in tables_in_module
    assert set(dataset.partition_keys) <= set(models.metadata.tables[dataset.table].columns.keys())
    for derivation in dataset.derived.values():
        assert set(derivation.inputs) <= set(models.metadata.tables)


@pytest.mark.parametrize("dataset", DATASETS, ids=lambda d: d.name)
def test_dataset_has_tests_in_every_layer(dataset: Dataset) -> None:
    for layer in ("transforms", "expectations"):
        assert (PROJECT / "tests" / layer / f"test_{dataset.name}.py").exists()


def test_layout_names_are_unique_across_datasets() -> None:
    names = [layout.name for dataset in DATASETS for layout in dataset.layouts]
    assert len(names) == len(set(names))


# --- The round trip: a tiny file of every registered dataset through the real pipeline -------------------
# A dataset added to the registry without a file here, its expected event or its reach fails these tests.

LINKS = [{"URN": "137181", "LinkURN": "100000", "LinkName": "Oak Academy", "LinkType": "Successor",
          "LinkEstablishedDate": "01-09-2024"}]  # fmt: skip
GROUPS = [{"Group UID": INVENTED_TRUST_ID, "Group ID": "TR90001",
           "Group Name": "Demo Learning Trust (invented for the demo)", "Group Type (code)": "06",
           "Group Type": "Multi-academy trust", "Incorporated on (open date)": "01/09/2016",
           "Group Status (code)": "OPEN", "Group Status": "Open", "UKPRN": "10090001"}]  # fmt: skip

# dataset -> (the partitions and years its load event carries, a partition of it that reaches no trust)
EXPECTED_EVENTS: dict[str, tuple[list[Partition], list[str], Partition]] = {
    "school_register": ([{"snapshot_date": "2023-09-01"}], [], {"snapshot_date": "2020-09-01"}),
    "trust_membership": ([{"snapshot_date": "2024-09-01"}], [], {"snapshot_date": "2020-09-01"}),
    "school_links": ([{"snapshot_date": "2025-01-15"}], [], {"snapshot_date": "2020-09-01"}),
    "group_register": ([{"snapshot_date": "2026-02-17"}], [], {"snapshot_date": "2020-09-01"}),
    "school_census": ([{"academic_year": "2023/24"}], ["2023/24"], {"academic_year": "2019/20"}),
    "dsg_allocation": ([{"financial_year": "2023-24"}], ["2023-24"], {"financial_year": "2019-20"}),
    "la_high_needs_spend": (
        [{"financial_year": "2023-24", "kind": "outturn"}], ["2023-24"], {"financial_year": "2023-24", "kind": "budget"}
    ),
    "la_ehcp": ([{"release": 2025, "source_table": "caseload"}], ["2025"], {"release": 2024}),
    "pupil_census": (
        [{"academic_year": "2023/24", "census_term": "spring", "urn": "137181"}], ["2023/24"],
        {"academic_year": "2023/24", "census_term": "autumn"},
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Context, dict[str, FileOutcome]]:
    """Every sample loaded in a fresh home, in the order `make demo` loads them; the last outcome per dataset."""
    home = tmp_path_factory.mktemp("registry-round-trip")
    context = Context.from_settings(Settings(home=home, pupil_key=SecretStr("registry-tests-key")))
    ensure_schema(context.warehouse)
    files = [*(SAMPLE_DIR / name for name in SAMPLE_FILES), INVENTED_TRUST_FILE]
    files.append(_gias_file(home / "links_edubasealldata20250115.csv", "gias_links.header.csv", LINKS))
    files.append(_gias_file(home / "allgroupsdata20260217.csv", "gias_all_groups.header.csv", GROUPS))
    outcomes: dict[str, FileOutcome] = {}
    for path in files:
        outcome = ingest_path(path, None, context)
        assert outcome.status is LoadStatus.LOADED and outcome.dataset, outcome.line()
        outcomes[outcome.dataset] = outcome
    returns = generate_census(
        context.warehouse, trust_id=INVENTED_TRUST_ID, academic_year="2023/24", term="spring", file_format="csv",
        seed=7, out_dir=home / "returns",
    ).paths  # fmt: skip
    for path in returns:
        outcome = ingest_path(path, None, context)
        assert outcome.status is LoadStatus.LOADED, outcome.line()
        if outcome.partitions[0].get("urn") == "137181":  # the demo trust's school the expectations name
            outcomes["pupil_census"] = outcome
    return context, outcomes


@pytest.mark.parametrize("dataset", DATASETS, ids=lambda d: d.name)
def test_a_load_of_every_dataset_emits_its_partitions_and_years_and_reaches_its_trusts(
    dataset: Dataset, loaded: tuple[Context, dict[str, FileOutcome]]
) -> None:
    context, outcomes = loaded
    assert dataset.name in EXPECTED_EVENTS, f"no expected load event for {dataset.name}: add a file and its event"
    partitions, years, elsewhere = EXPECTED_EVENTS[dataset.name]
    assert dataset.name in outcomes, f"no sample file of {dataset.name} was loaded"

    payload = loaded_event_payload(outcomes[dataset.name])

    assert payload is not None
    assert payload == {"dataset": dataset.name, "partitions": partitions, "years": years,
                       "load_id": outcomes[dataset.name].load_id}  # fmt: skip
    assert json.loads(json.dumps(payload)) == payload, "the payload crosses to Prefect as JSON unchanged"
    # The invented trust is reached; so are the sample's real trusts (GIAS's 2017 links) where the load touches them.
    assert INVENTED_TRUST_ID in trusts_affected_by(context.warehouse, dataset.name, payload["partitions"])
    assert trusts_affected_by(context.warehouse, dataset.name, [elsewhere]) == []


def test_only_a_load_that_published_rows_emits_an_event(loaded: tuple[Context, dict[str, FileOutcome]]) -> None:
    context, _ = loaded
    again = ingest_path(SAMPLE_DIR / SAMPLE_FILES[0], None, context)
    assert again.status is LoadStatus.DUPLICATE and loaded_event_payload(again) is None


def test_every_dataset_names_a_year_key_among_its_partition_keys_or_none_for_snapshots() -> None:
    for dataset in DATASETS:
        if dataset.year_key is None:
            assert dataset.partition_keys == ("snapshot_date",), dataset.name
        else:
            assert dataset.year_key == dataset.partition_keys[0], dataset.name  # kept when partitions are grouped


def test_many_partitions_are_grouped_by_their_leading_keys_single_keys_never() -> None:
    keys = ("academic_year", "census_term", "urn")
    schools = [("2023/24", "spring", str(100000 + n)) for n in range(13)]
    days = [(date(2024, 1, 1 + n),) for n in range(13)]

    assert replaced(schools, keys) == ({"academic_year": "2023/24", "census_term": "spring"},)
    assert summary(schools, keys) == ("2023/24/spring (13 urns)",)
    assert replaced(schools[:2], keys) == tuple(dict(zip(keys, s, strict=True)) for s in schools[:2])
    assert replaced(days, ("snapshot_date",))[-1] == {"snapshot_date": "2024-01-13"}
    assert len(replaced(days, ("snapshot_date",))) == 13 and summary(days, ("snapshot_date",)) == (
        " (13 snapshot_dates)",
    )
    assert years_of(replaced(schools, keys), "academic_year") == ["2023/24"]
