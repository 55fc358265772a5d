"""SEN2 / EHC plan statistics: every value of every release as loaded, and the newest release's value."""

from __future__ import annotations

from sqlmodel import SQLModel

from sendflow.warehouse.models.columns import code, count, load_id, pct

# columns.py has no plain number factory; pct() is its Double column, and a measure's value is a Double.
number = pct

_LA_CODE = "3-digit DfE LA number (old_la_code), or 'ENG' for England."
_CALENDAR_YEAR = (
    "Year of the January count (caseload: time_period 202425 -> 2025), or the calendar year of the activity "
    "(new plans, requests)."
)
_MEASURE = "What is counted: caseload, statements, new_plans, requests, requests_refused, ... (see transforms/la_ehcp)."
_BREAKDOWN = (
    "'total', or '<topic>:<value>': age:0-4, age:10, age_at_start:5, sex:female, ethnicity:asian_indian, "
    "years_in_place:2, setting:mainstream, need:ASD, reason:needs_met, ..."
)
_VALUE = "The published count; NULL where suppressed, not collected or not applicable (see value_status)."
_STATUS = "Publisher symbol where value is NULL ('x' unavailable, 'z' not applicable, 'c', 'low', ':', 'u')."
_RELEASE = "Publication year of the release the value came from (EHCP 2025 release -> 2025)."
_SOURCE_TABLE = "The release's file the value came from: caseload, newplans, requests, sen2_mi, sen2_age_caseload..."
_SOURCE_ROW = "Row in the source file, counting the header as row 1."


class LaEhcpObservation(SQLModel, table=True):
    __tablename__ = "la_ehcp_observation"
    __table_args__ = (
        {
            "comment": "One row per LA (or ENG) per year per measure and breakdown per release and source table: "
            "every SEN2 / EHC plan value of every release loaded."
        },
    )

    la_code: str = code(_LA_CODE, primary_key=True)
    calendar_year: int = count(_CALENDAR_YEAR, primary_key=True)
    measure: str = code(_MEASURE, primary_key=True)
    breakdown: str = code(_BREAKDOWN, primary_key=True)
    release: int = count(_RELEASE, primary_key=True, index=True)
    source_table: str = code(_SOURCE_TABLE, primary_key=True)
    value: float | None = number(_VALUE)
    value_status: str | None = code(_STATUS)
    source_layout: str | None = code("Layout (published file shape) the file was recognised as.")
    source_row_number: int | None = count(_SOURCE_ROW)
    load_id: int | None = load_id()


class FctLaEhcp(SQLModel, table=True):
    __tablename__ = "fct_la_ehcp"
    __table_args__ = (
        {
            "comment": "One row per LA (or 'ENG' for England) per January (or calendar year) per measure and "
            "breakdown: the newest release's value."
        },
    )

    la_code: str = code(_LA_CODE, primary_key=True)
    calendar_year: int = count(_CALENDAR_YEAR, primary_key=True)
    measure: str = code(_MEASURE, primary_key=True)
    breakdown: str = code(_BREAKDOWN, primary_key=True)
    value: float | None = number(_VALUE)
    value_status: str | None = code(_STATUS)
    release: int | None = count(_RELEASE + " The newest release that publishes this figure wins.")
    source_table: str | None = code(_SOURCE_TABLE)
    source_row_number: int | None = count(_SOURCE_ROW)
    load_id: int | None = load_id()
