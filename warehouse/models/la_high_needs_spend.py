"""Section 251 high-needs spend: budget and outturn per LA, financial year and s251 line."""

from __future__ import annotations

from sqlmodel import SQLModel

from sendflow.warehouse.models.columns import code, count, load_id, money, text

_STATUS = "Publisher symbol where {column} is NULL ('x' also where the source layout does not publish it)."
_PHASE = (
    "Spent on {what}: part of gross, except in the benchmarking sheet's place funding, whose total covers only "
    "the special-school and AP/PRU phases. NULL where the line has no phase breakdown."
)


class FctLaHighNeedsSpend(SQLModel, table=True):
    __tablename__ = "fct_la_high_needs_spend"
    __table_args__ = (
        {
            "comment": "One row per LA per financial year per s251 line (or documented combination of lines) "
            "per kind (budget, outturn)."
        },
    )

    la_code: str = code("3-digit DfE LA number.", primary_key=True)
    financial_year: str = code("Financial year, April to March, e.g. 2023-24.", primary_key=True)
    kind: str = code("'budget' (s251 planned expenditure) or 'outturn' (s251 actual expenditure).", primary_key=True)
    line_code: str = code(
        "s251 line ('1.2.1'), lines combined by the source ('1.2.1+1.2.2+1.2.4+1.2.11'), or 'hnb:' and a part "
        "of a line published only by the high-needs benchmarking sheet ('hnb:1.0.2_special_ap').",
        primary_key=True,
    )
    line_name: str | None = text("The line's name as published (without its number).")
    gross_gbp: float | None = money("Gross expenditure in pounds.")
    gross_status: str | None = code(_STATUS.format(column="gross_gbp"))
    income_gbp: float | None = money("Income set against the line, in pounds.")
    income_status: str | None = code(_STATUS.format(column="income_gbp"))
    net_gbp: float | None = money("Net expenditure (gross less income) in pounds.")
    net_status: str | None = code(_STATUS.format(column="net_gbp"))
    early_years_gbp: float | None = money(_PHASE.format(what="early years establishments"))
    early_years_status: str | None = code(_STATUS.format(column="early_years_gbp"))
    primary_gbp: float | None = money(_PHASE.format(what="primary schools"))
    primary_status: str | None = code(_STATUS.format(column="primary_gbp"))
    secondary_gbp: float | None = money(_PHASE.format(what="secondary schools"))
    secondary_status: str | None = code(_STATUS.format(column="secondary_gbp"))
    special_schools_gbp: float | None = money(_PHASE.format(what="special schools and academies"))
    special_schools_status: str | None = code(_STATUS.format(column="special_schools_gbp"))
    pru_and_ap_gbp: float | None = money(_PHASE.format(what="pupil referral units and alternative provision"))
    pru_and_ap_status: str | None = code(_STATUS.format(column="pru_and_ap_gbp"))
    post_16_gbp: float | None = money(_PHASE.format(what="post-16 (post-school) provision"))
    post_16_status: str | None = code(_STATUS.format(column="post_16_gbp"))
    source_layout: str | None = code("Layout of the source file (EES outturn, EES budget, benchmarking sheet).")
    source_row_number: int | None = count("Row in the source file, counting the header as row 1.")
    load_id: int | None = load_id()
