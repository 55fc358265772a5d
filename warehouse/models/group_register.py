"""The GIAS all-groups register as loaded: what each group (academy trust, sponsor, federation) is now."""

from __future__ import annotations

from datetime import date

from sqlmodel import SQLModel

from sendflow.warehouse.models.columns import code, count, day, load_id, text


class GroupRegisterSnapshot(SQLModel, table=True):
    __tablename__ = "group_register_snapshot"
    __table_args__ = ({"comment": "One row per group per GIAS all-groups register (allgroupsdata), no schools."},)

    group_uid: str = code("GIAS Group UID (trust_id for academy trusts).", primary_key=True)
    snapshot_date: date = day("Date of the register.", primary_key=True)
    group_ref: str | None = code("GIAS Group ID: TR01234 for an academy trust; free text for other groups.")
    group_name: str | None = text("Group name.")
    group_type: str | None = text("Multi-academy trust, Single-academy trust, School sponsor, Federation, ...")
    group_status: str | None = text("Open or Closed.")
    companies_house_number: str | None = code("Companies House number of the group.")
    open_date: date | None = day("Date the group opened in GIAS.")
    closed_date: date | None = day("Date the group closed.")
    incorporated_on: date | None = day("Date the trust was incorporated (GIAS: 'Incorporated on (open date)').")
    ukprn: str | None = code("UK provider reference number.")
    source_row_number: int | None = count("Row in the source file.")
    load_id: int | None = load_id()
