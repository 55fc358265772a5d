"""The one list of datasets. Adding a source means: a transforms module, an expectations module, a models
module, tests for each, and an entry here naming its partition keys, its year key and its reach (which
trusts a load can affect, registry/reach.py). tests/test_registry.py checks every part exists, and loads a
tiny file of every dataset to check its load event (partitions, years) and the trusts it reaches."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import polars as pl

from sendflow.expectations import dsg_allocation as dsg_allocation_expectations
from sendflow.expectations import group_register as group_register_expectations
from sendflow.expectations import la_ehcp as la_ehcp_expectations
from sendflow.expectations import la_high_needs_spend as la_high_needs_spend_expectations
from sendflow.expectations import pupil_census as pupil_census_expectations
from sendflow.expectations import school_census as school_census_expectations
from sendflow.expectations import school_links as school_links_expectations
from sendflow.expectations import school_register as school_register_expectations
from sendflow.expectations import trust_membership as trust_membership_expectations
from sendflow.expectations.suite import Suite
from sendflow.registry.names import PERSONAL, DatasetName
from sendflow.registry.reach import SchoolsAtCensus, SchoolsEver, SchoolsInLas, TrustReach, TrustsInRows
from sendflow.transforms import (
    dsg_allocation,
    group_register,
    pupil_census,
    school_census,
    school_dimensions,
    school_links,
    school_register,
    trust_membership,
)
from sendflow.transforms import la_ehcp as la_ehcp_transforms
from sendflow.transforms import la_high_needs_spend as la_high_needs_spend_transforms
from sendflow.transforms.common import Layout, SourceInfo
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.lookups import schools_by_laestab
from sendflow.warehouse.publish import Derivation

Build = Callable[[pl.DataFrame, SourceInfo], dict[str, pl.DataFrame]]


@dataclass(frozen=True)
class Dataset:
    name: str
    layouts: tuple[Layout, ...]
    build: Build
    suite: Suite
    # The columns whose values a newer file replaces in the validated table (a year, a snapshot date...).
    partition_keys: tuple[str, ...]
    # Which trusts' reports a load can change (reports/affected.py queries by it).
    reach: TrustReach
    # The partition key that names the year of what was loaded (the `years` of the load event), or None
    # for snapshots: a snapshot date is a day, and the reports it changes are not limited to one year.
    year_key: str | None
    derived: Mapping[str, Derivation] = field(default_factory=dict)
    # Lake folders, when coarser than the partitions (a school's pupils replaced inside its LA's folder).
    lake_keys: tuple[str, ...] = ()
    # Source columns a large file is read in batches by, never splitting one value's rows (a school).
    batch_key: tuple[str, ...] = ()
    # Warehouse rows the transform needs, fetched before it runs (it does no I/O itself).
    lookups: Mapping[str, Callable[[Warehouse], pl.DataFrame]] = field(default_factory=dict)

    @property
    def personal(self) -> bool:
        """Pupil-level personal data (registry/names.py says which datasets are)."""
        return self.name in PERSONAL

    @property
    def table(self) -> str:
        return self.suite.table


# Whatever the school-side source, the school and trust dimensions are rebuilt from all of them.
SCHOOL_DIMENSIONS: Mapping[str, Derivation] = {
    "dim_school": Derivation(
        ("school_register_snapshot", "trust_membership_snapshot", "school_link"), school_dimensions.dim_school
    ),
    "dim_trust": Derivation(
        ("school_register_snapshot", "trust_membership_snapshot", "group_register_snapshot"),
        school_dimensions.dim_trust,
    ),
    "trust_membership": Derivation(("trust_membership_snapshot",), trust_membership.trust_memberships),
}

DATASETS: tuple[Dataset, ...] = (
    Dataset(
        name="school_register",
        layouts=school_register.LAYOUTS,
        build=school_register.build,
        suite=school_register_expectations.SUITE,
        partition_keys=("snapshot_date",),
        reach=SchoolsEver("school_register_snapshot"),
        year_key=None,
        derived=SCHOOL_DIMENSIONS,
    ),
    Dataset(
        name="trust_membership",
        layouts=trust_membership.LAYOUTS,
        build=trust_membership.build,
        suite=trust_membership_expectations.SUITE,
        partition_keys=("snapshot_date",),
        reach=SchoolsEver("trust_membership_snapshot", trust_columns=("group_uid",)),
        year_key=None,
        derived=SCHOOL_DIMENSIONS,
    ),
    Dataset(
        name="school_links",
        layouts=school_links.LAYOUTS,
        build=school_links.build,
        suite=school_links_expectations.SUITE,
        partition_keys=("snapshot_date",),
        reach=SchoolsEver("school_link", urn_columns=("urn", "link_urn")),
        year_key=None,
        derived=SCHOOL_DIMENSIONS,
    ),
    Dataset(
        name="group_register",
        layouts=group_register.LAYOUTS,
        build=group_register.build,
        suite=group_register_expectations.SUITE,
        partition_keys=("snapshot_date",),
        reach=TrustsInRows("group_register_snapshot", trust_column="group_uid"),
        year_key=None,
        derived={"dim_trust": SCHOOL_DIMENSIONS["dim_trust"]},
    ),
    Dataset(
        name="school_census",
        layouts=school_census.LAYOUTS,
        build=school_census.build,
        suite=school_census_expectations.SUITE,
        partition_keys=("academic_year",),
        reach=TrustsInRows("v_trust_send_summary"),
        year_key="academic_year",
    ),
    Dataset(
        name="dsg_allocation",
        layouts=dsg_allocation.LAYOUTS,
        build=dsg_allocation.build,
        suite=dsg_allocation_expectations.SUITE,
        partition_keys=("financial_year",),
        reach=SchoolsInLas("fct_la_dsg_allocation"),
        year_key="financial_year",
    ),
    Dataset(
        name="la_high_needs_spend",
        layouts=la_high_needs_spend_transforms.LAYOUTS,
        build=la_high_needs_spend_transforms.build,
        suite=la_high_needs_spend_expectations.SUITE,
        # A benchmarking workbook holds a budget and an outturn: each (year, kind) is replaced on its own.
        partition_keys=("financial_year", "kind"),
        reach=SchoolsInLas("fct_la_high_needs_spend"),
        year_key="financial_year",
    ),
    Dataset(
        name="la_ehcp",
        layouts=la_ehcp_transforms.LAYOUTS,
        build=la_ehcp_transforms.build,
        suite=la_ehcp_expectations.SUITE,
        # Re-loading one file of one release replaces only that file's rows.
        partition_keys=("release", "source_table"),
        reach=SchoolsInLas("la_ehcp_observation"),
        year_key="release",
        derived={"fct_la_ehcp": Derivation(("la_ehcp_observation",), la_ehcp_transforms.fct_la_ehcp)},
    ),
    Dataset(
        name="pupil_census",
        layouts=pupil_census.LAYOUTS,
        build=pupil_census.build,
        suite=pupil_census_expectations.SUITE,
        partition_keys=("academic_year", "census_term", "urn"),
        reach=SchoolsAtCensus("fct_pupil_census"),
        year_key="academic_year",
        lake_keys=("academic_year", "census_term", "la_code"),
        batch_key=("LEA", "Estab"),
        lookups={"schools": schools_by_laestab},
    ),
)

BY_NAME: Mapping[str, Dataset] = {d.name: d for d in DATASETS}
if set(BY_NAME) != {name.value for name in DatasetName}:  # registry/names.py must name exactly these
    raise ImportError(f"registry/names.py and the datasets here differ: {sorted(set(BY_NAME) ^ set(DatasetName))}")


def all_layouts() -> list[Layout]:
    return [layout for dataset in DATASETS for layout in dataset.layouts]
