"""School register: snapshots as loaded, the type-2 school dimension and trusts derived from them."""

from __future__ import annotations

from datetime import date

from sqlmodel import SQLModel

from sendflow.warehouse.models.columns import REBUILT, code, count, day, flag, load_id, text


class SchoolRegisterSnapshot(SQLModel, table=True):
    __tablename__ = "school_register_snapshot"
    __table_args__ = ({"comment": "One row per establishment per register snapshot, as loaded."},)

    urn: str = code("Unique reference number (6 digits).", primary_key=True)
    snapshot_date: date = day("Date the register snapshot describes.", primary_key=True)
    laestab: str | None = code("LA number and establishment number (7 digits).")
    la_code: str | None = code("3-digit DfE LA number.", index=True)
    estab: str | None = code("Establishment number within the LA (4 digits).")
    school_name: str | None = text("Establishment name.")
    establishment_type: str | None = text("Type of establishment (e.g. Academy converter).")
    establishment_group: str | None = text("Establishment group as the source names it.")
    phase: str | None = text("Phase of education.")
    school_status: str | None = text("Open, Closed, Open but proposed to close, ...")
    is_open: bool | None = flag("Open (including proposed to close) at the snapshot.")
    open_date: date | None = day("Date opened, if recorded.")
    close_date: date | None = day("Date closed, if recorded.")
    statutory_low_age: int | None = count("Lowest statutory age.")
    statutory_high_age: int | None = count("Highest statutory age.")
    trust_id: str | None = code("GIAS Group UID of the school's trust; NULL if none or not recorded.")
    trust_name: str | None = text("Trust name as the snapshot gives it.")
    trust_type: str | None = text("Multi-academy trust, Single-academy trust or Trust.")
    has_trust_info: bool | None = flag("Whether the source records trusts at all.")
    source_layout: str | None = code("Layout of the source file.")
    source_row_number: int | None = count("Row in the source file.")
    load_id: int | None = load_id()


class DimSchool(SQLModel, table=True):
    __tablename__ = "dim_school"
    __table_args__ = ({"comment": "One row per school per version (type-2 history)."},)

    urn: str = code("Unique reference number (6 digits).", primary_key=True)
    valid_from: date = day("First date this version describes.", primary_key=True)
    valid_to: date | None = day("Date the next version starts (exclusive); NULL for the current version.")
    is_current: bool | None = flag("The latest version of the school.")
    laestab: str | None = code("LA number and establishment number (7 digits).")
    la_code: str | None = code("3-digit DfE LA number.", index=True)
    school_name: str | None = text("Establishment name.")
    establishment_type: str | None = text("Type of establishment.")
    establishment_group: str | None = text("Establishment group as the source names it.")
    phase: str | None = text("Phase of education.")
    school_status: str | None = text("Establishment status.")
    is_open: bool | None = flag("Open (including proposed to close).")
    open_date: date | None = day("Date opened, if recorded.")
    close_date: date | None = day("Date closed, if recorded.")
    trust_id: str | None = code("GIAS Group UID of the trust; NULL if not in a trust.", index=True)
    statutory_low_age: int | None = count("Lowest statutory age.")
    statutory_high_age: int | None = count("Highest statutory age.")
    predecessor_urn: str | None = code("The URN this school succeeded (e.g. before converting to an academy).")
    successor_urn: str | None = code("The URN that succeeded this school, if it was replaced by a new one.")
    lineage_urn: str | None = code("Newest URN along its successors: every URN of one school's history shares it.",
                                   index=True)  # fmt: skip
    load_id: int | None = load_id(description=REBUILT)


class DimTrust(SQLModel, table=True):
    __tablename__ = "dim_trust"
    __table_args__ = ({"comment": "One row per trust (academy group)."},)

    trust_id: str = code("GIAS Group UID.", primary_key=True)
    trust_ref: str | None = code("GIAS Group ID ('TR...'), when a group-links extract has been loaded.")
    trust_name: str | None = text("Trust name.")
    companies_house_number: str | None = code("Companies House number, when known.")
    trust_type: str | None = text("Multi-academy trust or Single-academy trust.")
    trust_status: str | None = text("Open or Closed, from the newest GIAS all-groups register; NULL without one.")
    open_date: date | None = day("Date the trust opened, from the newest all-groups register.")
    closed_date: date | None = day("Date the trust closed, from the newest all-groups register.")
    incorporated_on: date | None = day("Date the trust was incorporated, from the newest all-groups register.")
    ukprn: str | None = code("UK provider reference number, from the newest all-groups register.")
    register_date: date | None = day(
        "Date of the all-groups register the status, dates and UKPRN come from; NULL when no register names the trust."
    )
    load_id: int | None = load_id(description=REBUILT)
