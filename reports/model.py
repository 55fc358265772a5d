"""The report as values: its tables, charts and sections, the data read for it and the whole report.

Sections (reports/sections/) build these from a `TrustData`; html.py, charts.py and exports.py only read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import polars as pl

from sendflow.core.vocabulary import ChartKind

Kind = Literal["text", "count", "pct", "pp", "gbp", "index", "year"]


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: Kind


@dataclass(frozen=True)
class ReportTable:
    """One table of the page and of the exports. `hidden` cells show as `c` (disclosure control); a NULL
    published value shows its publisher's symbol from the `<column>_status` column when the frame has one."""

    key: str
    title: str
    columns: tuple[Column, ...]
    frame: pl.DataFrame
    origin: Literal["published", "pupil-level"] = "published"
    hidden: frozenset[tuple[int, str]] = frozenset()
    note: str = ""

    def shown(self, row: int, column: str) -> object:
        """The value as the page and the exports give it: 'c' if hidden, else the value (or its status)."""
        if (row, column) in self.hidden:
            return "c"
        value = self.frame[column][row]
        if value is None and f"{column}_status" in self.frame.columns:
            return self.frame[f"{column}_status"][row]
        return value


@dataclass(frozen=True)
class Chart:
    """What a chart draws and says: `kind` picks the drawing in charts.py, `table` is the data behind it."""

    key: str
    kind: ChartKind
    title: str
    table: str
    reading: str
    alt: str
    band: float | None = None  # school_rates: the flag distance drawn around each LA's rate


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    paragraphs: tuple[str, ...] = ()
    charts: tuple[Chart, ...] = ()
    tables: tuple[ReportTable, ...] = ()


@dataclass(frozen=True)
class TrustData:
    """Everything the report reads, as read from the warehouse (see read.load_trust_data)."""

    trust_id: str
    trust_name: str | None
    trust_ref: str | None
    trust_type: str | None
    academic_year: str
    members: pl.DataFrame  # one row per member school per academic year up to the chosen one
    la_census: pl.DataFrame  # v_la_census_summary for those LAs and years
    national: pl.DataFrame  # v_national_census_summary for those years
    funding: pl.DataFrame  # v_la_send_funding_gap for the LAs of the chosen year
    pupil_counts: pl.DataFrame | None = None  # on-roll pupils by urn, nc_year, primary_need, sen_provision
    pupil_term: str | None = None
    reconciliation: pl.DataFrame | None = None  # v_census_reconciliation rows of the trust's schools, with names
    sources: pl.DataFrame = field(default_factory=pl.DataFrame)  # the etl_load rows behind the figures
    synthetic_note: str | None = None  # set when a pupil-level return behind the page was written by sendflow synth
    # peers.trust_years of this trust: every year with a census, reported or left out (with the reason)
    years: pl.DataFrame = field(default_factory=pl.DataFrame)
    peers: pl.DataFrame = field(default_factory=pl.DataFrame)  # the year's ranked MATs: trust_id and rates
    unmatched: pl.DataFrame = field(default_factory=pl.DataFrame)  # v_trust_unmatched_school: urn, name, reason
    trust_status: str | None = None  # dim_trust's, from the newest group register loaded
    closed_date: date | None = None


@dataclass(frozen=True)
class TrustReport:
    trust_id: str
    trust_name: str
    trust_ref: str | None
    trust_type: str | None
    academic_year: str
    generated_on: date
    threshold: int
    distance_pct_points: float
    disclosure_rule: str
    sections: tuple[Section, ...]
    synthetic_note: str | None = None
    trust_status: str | None = None
    closed_date: date | None = None

    @property
    def tables(self) -> tuple[ReportTable, ...]:
        return tuple(table for section in self.sections for table in section.tables)

    @property
    def charts(self) -> tuple[Chart, ...]:
        return tuple(chart for section in self.sections for chart in section.charts)

    def table(self, key: str) -> ReportTable:
        return next(table for table in self.tables if table.key == key)
