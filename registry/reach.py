"""Which trusts a load of a dataset can affect, declared per dataset (Dataset.reach) for reports/affected.py.

Each kind selects the rows of a table that the load's partitions name (the partition keys are columns of
that table), and says how those rows lead to trusts. Adding a dataset means choosing one of these, or
adding a kind here and its query in reports/affected.py; tests/test_registry.py checks every dataset has one.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrustsInRows:
    """The trusts the selected rows name themselves (a census's per-trust summary, by academic year)."""

    table: str
    trust_column: str = "trust_id"


@dataclass(frozen=True)
class SchoolsAtCensus:
    """The trusts the schools of the selected rows belonged to on those rows' census date (pupil returns)."""

    table: str
    urn_column: str = "urn"
    date_column: str = "census_date"


@dataclass(frozen=True)
class SchoolsEver:
    """Every trust the schools of the selected rows ever belonged to (a new snapshot can end one membership
    and start another), and any trust the rows name themselves (a membership's group)."""

    table: str
    urn_columns: tuple[str, ...] = ("urn",)
    trust_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class SchoolsInLas:
    """Trusts with a school in a loaded school census in the LAs of the selected rows (LA-level figures)."""

    table: str
    la_column: str = "la_code"


TrustReach = TrustsInRows | SchoolsAtCensus | SchoolsEver | SchoolsInLas
