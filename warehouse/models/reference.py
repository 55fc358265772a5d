"""Reference tables seeded from warehouse/reference/, never from a single publication: local authorities,
and the GDP deflator that puts money in real terms."""

from __future__ import annotations

from datetime import date

from sqlmodel import SQLModel

from sendflow.warehouse.models.columns import code, count, day, flag, pct, text

# columns.py has no plain number factory; pct() is its Double column, and an index value is a Double.
number = pct


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


class RefGdpDeflator(SQLModel, table=True):
    __tablename__ = "ref_gdp_deflator"
    __table_args__ = (
        {
            "comment": "One row per calendar year: HM Treasury's GDP deflator at market prices (December 2025 "
            "update), calendar years only, as extracted by a secondary source; each row says where it comes from."
        },
    )

    # autoincrement off: a year is a key, never a sequence PostgreSQL should hand out.
    calendar_year: int = count(
        "Calendar year, January to December (not a financial year).",
        primary_key=True,
        sa_column_kwargs={"autoincrement": False},
    )
    index_value: float | None = number("GDP deflator index for the year, base_year = 100.")
    series: str | None = text("Name of the series: HM Treasury GDP deflator at market prices, December 2025 update.")
    base_year: int | None = count("Calendar year whose index is 100 (2024): real terms are in that year's prices.")
    period_basis: str | None = code("calendar_year: every index covers January to December, never April to March.")
    source: str | None = text("The publication, in the secondary source's own words (its data_versions.csv).")
    source_notes: str | None = text("The secondary source's notes on the file it read (its data_versions.csv).")
    obtained_from: str | None = text(
        "Where the values were copied from: the greenbook R package (MIT licence) at a commit; HM Treasury's "
        "workbook is not held, so the values are not checked against it."
    )
    is_derived: bool | None = flag("True: a secondary source's extract of HM Treasury's figures, not the workbook.")
