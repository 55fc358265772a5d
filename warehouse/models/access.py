"""Which database login role may see which trust's pupil-level rows (PostgreSQL row-level security)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import SQLModel

from sendflow.warehouse.models.columns import code, moment


class TrustAccessRole(SQLModel, table=True):
    __tablename__ = "trust_access_role"
    __table_args__ = (
        {"comment": "One row per BI login role scoped to a trust: it sees that trust's pupil-level rows only."},
    )

    role_name: str = code("PostgreSQL login role (sendflow db grant-trust TRUST_ID ROLE).", primary_key=True)
    trust_id: str = code("The trust (dim_trust.trust_id) whose schools' pupils the role may see.")
    granted_at: datetime | None = moment("When the role was last granted or re-granted (UTC).")
