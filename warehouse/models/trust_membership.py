"""GIAS group links as loaded, and the academy-trust membership spans derived from them."""

from __future__ import annotations

from datetime import date

from sqlmodel import SQLModel

from sendflow.warehouse.models.columns import REBUILT, code, count, day, load_id, text


class TrustMembershipSnapshot(SQLModel, table=True):
    __tablename__ = "trust_membership_snapshot"
    __table_args__ = ({"comment": "One row per establishment per group it belongs to, per GIAS group-links extract."},)

    urn: str = code("Establishment URN.", primary_key=True)
    snapshot_date: date = day("Date of the extract.", primary_key=True)
    group_uid: str = code("GIAS Group UID (trust_id for academy trusts).", primary_key=True)
    group_ref: str | None = code("GIAS Group ID, e.g. TR01234.")
    group_name: str | None = text("Group name.")
    group_type: str | None = text("Multi-academy trust, Single-academy trust, Federation, Trust, School sponsor...")
    group_status: str | None = text("Open, Closed, ...")
    companies_house_number: str | None = code("Companies House number of the group.")
    joined_date: date | None = day("Date the establishment joined the group.")
    group_open_date: date | None = day("Date the group opened.")
    group_closed_date: date | None = day("Date the group closed.")
    school_name: str | None = text("Establishment name in the extract.")
    establishment_type: str | None = text("Type of establishment in the extract.")
    phase: str | None = text("Phase of education in the extract.")
    la_code: str | None = code("3-digit DfE LA number of the establishment.")
    source_row_number: int | None = count("Row in the source file.")
    load_id: int | None = load_id()


class TrustMembership(SQLModel, table=True):
    __tablename__ = "trust_membership"
    __table_args__ = ({"comment": "One row per school per academy-trust membership, with its dates."},)

    urn: str = code("Establishment URN.", primary_key=True)
    trust_id: str = code("GIAS Group UID of the academy trust.", primary_key=True)
    member_from: date = day("Date the school joined the trust.", primary_key=True)
    member_to: date | None = day("Date the membership ended (exclusive); NULL while it lasts.")
    load_id: int | None = load_id(description=REBUILT)
