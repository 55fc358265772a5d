"""The registry's names, importable without the datasets' code (their transforms, suites and models pull in
Polars, Arrow and SQLAlchemy: about 1.8 s). A repeat offer of loaded bytes is answered with these alone
(loading/repeats.py). registry/datasets.py refuses to import unless its entries are exactly these names, so
this stays the same list, not a second one."""

from __future__ import annotations

from enum import StrEnum


class DatasetName(StrEnum):
    SCHOOL_REGISTER = "school_register"
    TRUST_MEMBERSHIP = "trust_membership"
    SCHOOL_LINKS = "school_links"
    SCHOOL_CENSUS = "school_census"
    DSG_ALLOCATION = "dsg_allocation"
    LA_HIGH_NEEDS_SPEND = "la_high_needs_spend"
    LA_EHCP = "la_ehcp"
    PUPIL_CENSUS = "pupil_census"
    GROUP_REGISTER = "group_register"


# Pupil-level personal data: needs the pseudonymisation key, its raw file is purgeable, its file names and
# cell values are shown only as their disclosure allows.
PERSONAL: frozenset[DatasetName] = frozenset({DatasetName.PUPIL_CENSUS})


def is_personal(name: str | None) -> bool:
    """Whether a ledger row's dataset is pupil-level data: an unknown dataset (a file refused before it was
    identified, a name no longer registered) may be, so it counts as one."""
    return name is None or name not in DatasetName._value2member_map_ or DatasetName(name) in PERSONAL
