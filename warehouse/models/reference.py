"""Local authorities: seeded from the committed reference table, never from a single publication."""

from __future__ import annotations

from datetime import date

from sqlmodel import SQLModel

from sendflow.warehouse.models.columns import code, day, text


class DimLocalAuthority(SQLModel, table=True):
    __tablename__ = "dim_local_authority"
    __table_args__ = ({"comment": "One row per DfE LA number ever used, with reorganisations."},)

    la_code: str = code("3-digit DfE LA number, the join key for every LA-level table.", primary_key=True)
    la_name: str | None = text("LA name as DfE publishes it.")
    ons_code: str | None = code("Latest ONS GSS code (E06/E08/E09/E10); NULL for overseas establishments.")
    region_name: str | None = text("Government office region.")
    successor_la_code: str | None = code(
        "NULL unless abolished or merged: the successor's la_code; a split lists each, comma-separated "
        "(join through la_successor instead)."
    )
    abolished_on: date | None = day("Date the LA ceased to exist, if it has.")
    notes: str | None = text("Why this row is unusual, if it is.")


class LaSuccessor(SQLModel, table=True):
    __tablename__ = "la_successor"
    __table_args__ = ({"comment": "One row per abolished LA and each LA that took over its area."},)

    la_code: str = code("The abolished LA.", primary_key=True)
    successor_la_code: str = code("An LA that took over all or part of its area.", primary_key=True)
    effective_on: date | None = day("Date of the change.")
    kind: str | None = code("split, merged or replaced.")


class LaOnsCode(SQLModel, table=True):
    __tablename__ = "la_ons_code"
    __table_args__ = (
        {"comment": "Every ONS GSS code an LA has carried in DfE files; look codes up here, never join."},
    )

    ons_code: str = code("ONS GSS code as a DfE file gives it.", primary_key=True)
    la_code: str = code("The DfE LA number it belongs to.")
