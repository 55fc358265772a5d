"""GIAS establishment links: predecessor and successor URNs."""

from __future__ import annotations

from datetime import date

from sqlmodel import SQLModel

from sendflow.warehouse.models.columns import code, count, day, load_id, text


class SchoolLink(SQLModel, table=True):
    __tablename__ = "school_link"
    __table_args__ = ({"comment": "One row per establishment link per GIAS links extract."},)

    urn: str = code("Establishment URN.", primary_key=True)
    link_urn: str = code("The linked establishment's URN.", primary_key=True)
    snapshot_date: date = day("Date of the extract.", primary_key=True)
    link_type: str = code(
        "The linked establishment's role for this one: Successor, Predecessor, Successor - merged, "
        "Predecessor - amalgamated, Sixth Form Centre School, ...",
        primary_key=True,
    )
    link_name: str | None = text("The linked establishment's name.")
    link_established_date: date | None = day("Date the link took effect.")
    source_row_number: int | None = count("Row in the source file.")
    load_id: int | None = load_id()
