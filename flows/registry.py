"""The one list of datasets. Adding a source means: a transforms module, an expectations module, a models
module, tests for each, and an entry here (tests/test_registry.py checks that every part exists)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import polars as pl

from expectations import school_census as school_census_expectations
from expectations import school_register as school_register_expectations
from expectations.suite import Suite
from transforms import school_census, school_register
from transforms.common import Layout, SourceInfo
from warehouse.publish import Derivation

Build = Callable[[pl.DataFrame, SourceInfo], dict[str, pl.DataFrame]]


@dataclass(frozen=True)
class Dataset:
    name: str
    layouts: tuple[Layout, ...]
    build: Build
    suite: Suite
    # The columns whose values a newer file replaces in the validated table (a year, a snapshot date...).
    partition_keys: tuple[str, ...]
    derived: Mapping[str, Derivation] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return self.suite.table


DATASETS: tuple[Dataset, ...] = (
    Dataset(
        name="school_register",
        layouts=school_register.LAYOUTS,
        build=school_register.build,
        suite=school_register_expectations.SUITE,
        partition_keys=("snapshot_date",),
        derived={
            "dim_school": Derivation(("school_register_snapshot",), school_register.dim_school),
            "dim_trust": Derivation(("school_register_snapshot",), school_register.dim_trust),
        },
    ),
    Dataset(
        name="school_census",
        layouts=school_census.LAYOUTS,
        build=school_census.build,
        suite=school_census_expectations.SUITE,
        partition_keys=("academic_year",),
    ),
)

BY_NAME: Mapping[str, Dataset] = {d.name: d for d in DATASETS}


def all_layouts() -> list[Layout]:
    return [layout for dataset in DATASETS for layout in dataset.layouts]
