"""Dedicated schools grant allocations per LA, block and basis."""

from __future__ import annotations

from sqlmodel import SQLModel

from sendflow.warehouse.models.columns import code, count, load_id, money, text


class FctLaDsgAllocation(SQLModel, table=True):
    __tablename__ = "fct_la_dsg_allocation"
    __table_args__ = ({"comment": "One row per LA per financial year per DSG block per basis."},)

    la_code: str = code("3-digit DfE LA number.", primary_key=True)
    financial_year: str = code("Financial year, e.g. 2023-24.", primary_key=True)
    block: str = code("schools, central_school_services, high_needs, early_years or total.", primary_key=True)
    basis: str = code("before_deductions (before academy recoupment and ESFA deductions) or after_deductions.",
                      primary_key=True)  # fmt: skip
    la_name: str | None = text("LA name as the workbook gives it.")
    amount_gbp: float | None = money("Allocation in pounds.")
    amount_status: str | None = code("Publisher symbol where amount_gbp is NULL.")
    source_row_number: int | None = count("Row of the sheet the value came from.")
    load_id: int | None = load_id()
