"""The words that cross modules, as types: statuses, census terms, need codes, chart kinds, the England code.

A value that leaves the module that made it is one of these, never a free string matched again elsewhere.
`StrEnum` members are `str`s, so they are stored, printed and sent in events exactly as their values.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class LoadStatus(StrEnum):
    """What became of one offered file (`etl_load.status`)."""

    LOADED = "loaded"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    FAILED = "failed"

    @property
    def ok(self) -> bool:
        """Loaded, or already loaded: nothing for the sender to do."""
        return self in (LoadStatus.LOADED, LoadStatus.DUPLICATE)


class PullSource(StrEnum):
    """What a puller fetches from: GIAS's daily extracts, or the EES public API's data sets."""

    GIAS = "gias"
    EES = "ees"


class PullStatus(StrEnum):
    """What one download attempt found at its source."""

    NEW = "new"  # bytes not seen before, landed in processing/
    UNCHANGED = "unchanged"  # a 200 with the same SHA-256 as last time: nothing landed
    NOT_MODIFIED = "not-modified"  # a 304 to the conditional request: nothing landed


class Leftover(StrEnum):
    """What the watcher does with a file it finds left in the landing zone's processing/ folder."""

    TAKE_OVER = "take over"  # no outcome and no offer in flight: hand it on as if it had just landed
    ALREADY_LOADED = "already loaded"  # its bytes were loaded (the loader died before clearing it): clear it
    HAS_OUTCOME = "has an outcome"  # failed (or rejected) before: left where it is, for a person to look at
    IN_FLIGHT = "in flight"  # some process is offering its bytes now


class CensusTerm(StrEnum):
    """The three school census days of an academic year, in the year's order."""

    AUTUMN = "autumn"
    SPRING = "spring"
    SUMMER = "summer"


class NeedCode(StrEnum):
    """DfE primary-need codes, lower case, in the order the census publishes them."""

    SPLD = "spld"
    MLD = "mld"
    SLD = "sld"
    PMLD = "pmld"
    SEMH = "semh"
    SLCN = "slcn"
    HI = "hi"
    VI = "vi"
    MSI = "msi"
    PD = "pd"
    ASD = "asd"
    OTH = "oth"
    NSA = "nsa"

    @property
    def label(self) -> str:
        return NEED_NAMES[self]


NEED_CODES: Final[tuple[NeedCode, ...]] = tuple(NeedCode)
NEED_NAMES: Final[dict[NeedCode, str]] = {
    NeedCode.ASD: "Autistic spectrum disorder",
    NeedCode.SLCN: "Speech, language and communication needs",
    NeedCode.SEMH: "Social, emotional and mental health",
    NeedCode.MLD: "Moderate learning difficulty",
    NeedCode.SLD: "Severe learning difficulty",
    NeedCode.PMLD: "Profound and multiple learning difficulty",
    NeedCode.SPLD: "Specific learning difficulty",
    NeedCode.PD: "Physical disability",
    NeedCode.HI: "Hearing impairment",
    NeedCode.VI: "Visual impairment",
    NeedCode.MSI: "Multi-sensory impairment",
    NeedCode.OTH: "Other difficulty or disability",
    NeedCode.NSA: "SEN support but no specialist assessment",
}


class ChartKind(StrEnum):
    """The trust report's charts; each has one drawing in reports/charts.py."""

    TRUST_RATES = "trust_rates"
    SCHOOL_RATES = "school_rates"
    SCHOOL_NEEDS = "school_needs"
    LA_GROWTH = "la_growth"
    LA_PER_PLAN = "la_per_plan"
    LA_OUTTURN = "la_outturn"
    NEED_BY_YEAR_GROUP = "need_by_year_group"
    RECONCILIATION = "reconciliation"
    PEER_DISTRIBUTION = "peer_distribution"


class TrustType(StrEnum):
    """The academy trusts of GIAS's group types (as GIAS spells them): the only groups with member schools."""

    MULTI_ACADEMY = "Multi-academy trust"
    SINGLE_ACADEMY = "Single-academy trust"


# As plain text, for Polars: an enum member in is_in() or replace_strict() is taken for an Enum dtype.
ACADEMY_TRUST_TYPES: Final = tuple(kind.value for kind in TrustType)


# The word every file `sendflow synth` writes carries in its name, so that wherever the file goes (the ledger's
# source_name, a report's sources) it says it describes no real pupil.
SYNTHETIC_MARK: Final = "synthetic"

# The warehouse's la_code for England as a whole (national rows of LA-level facts).
ENGLAND_LA_CODE: Final = "ENG"
