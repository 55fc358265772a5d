"""Every registered dataset has all its parts, in the places the layout promises."""

from __future__ import annotations

import importlib

import pytest

from sendflow.expectations.suite import Suite
from sendflow.registry.datasets import DATASETS
from sendflow.warehouse import models
from tests.conftest import PROJECT


@pytest.mark.parametrize("dataset", DATASETS, ids=lambda d: d.name)
def test_dataset_has_a_module_in_every_layer(dataset) -> None:
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
def test_dataset_has_tests_in_every_layer(dataset) -> None:
    for layer in ("transforms", "expectations"):
        assert (PROJECT / "tests" / layer / f"test_{dataset.name}.py").exists()


def test_layout_names_are_unique_across_datasets() -> None:
    names = [layout.name for dataset in DATASETS for layout in dataset.layouts]
    assert len(names) == len(set(names))
