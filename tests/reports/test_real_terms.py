"""The funding section in real terms: 2024 prices beside cash, the deflator named with its base year and
calendar-year basis, the years it does not reach left in cash, and a warehouse without it said to be so."""

from __future__ import annotations

import polars as pl
import pytest

from sendflow.reports.sections.funding import la_funding, section
from tests.reports.test_tables import YEAR, data, members

DEFLATOR = {2022: 90.5005, 2023: 96.2507, 2024: 100.0}  # the committed series' last three years


def _funding(real_terms: bool = True) -> pl.DataFrame:
    """Camden as v_la_send_funding_gap gives it: cash, and 2024 prices by the deflator of each starting year."""
    block = [48e6, 50.4e6, 53e6, 61e6]
    plans = [1200.0, 1320.0, 1400.0, 1450.0]
    years = ["2022-23", "2023-24", "2024-25", "2025-26"]
    frame = pl.DataFrame(
        {"la_code": ["202"] * 4, "la_name": ["Camden"] * 4, "financial_year": years, "ehcp_caseload": plans,
         "high_needs_block_gbp": block, "high_needs_gbp_per_ehcp": [b / n for b, n in zip(block, plans, strict=True)],
         "high_needs_net_outturn_gbp": [None, 55.44e6, None, None]}
    )  # fmt: skip
    if not real_terms:
        return frame
    index = [DEFLATOR.get(int(year[:4])) for year in years]
    real = [None if i is None else b * 100 / i for b, i in zip(block, index, strict=True)]
    return frame.with_columns(
        pl.Series("high_needs_block_real_2024_gbp", real, dtype=pl.Float64),
        pl.Series(
            "high_needs_per_ehcp_real_2024_gbp",
            [None if r is None else r / n for r, n in zip(real, plans, strict=True)],
            dtype=pl.Float64,
        ),
    )


def _camden() -> pl.DataFrame:
    return members([("1", YEAR, "202", "Oak", 400, 26, 40)])


def test_the_table_has_2024_prices_beside_cash() -> None:
    table = la_funding(data(pl.DataFrame(), pl.DataFrame(), funding=_funding()))
    names = [column.name for column in table.columns]
    labels = {column.name: column.label for column in table.columns}

    assert names.index("high_needs_block_real_2024_gbp") == names.index("high_needs_block_gbp") + 1
    assert names.index("high_needs_per_ehcp_real_2024_gbp") == names.index("high_needs_gbp_per_ehcp") + 1
    assert labels["high_needs_per_ehcp_real_2024_gbp"] == "High-needs block £ per EHC plan (2024 prices)"
    real = dict(table.frame.select("financial_year", "high_needs_per_ehcp_real_2024_gbp").rows())
    assert real["2023-24"] == pytest.approx(50.4e6 / 1320 * 100 / 96.2507)
    assert real["2024-25"] == pytest.approx(53e6 / 1400)  # 2024 = 100: cash is already in 2024 prices
    assert real["2025-26"] is None
    assert "calendar year the financial year starts in" in table.note


def test_the_page_names_the_series_its_base_year_and_basis_and_where_it_ends() -> None:
    funding = section(data(_camden(), pl.DataFrame(), funding=_funding()))
    [real_terms] = [p for p in funding.paragraphs if p.startswith("Real terms")]

    assert "HM Treasury GDP deflator at market prices, December 2025 update" in real_terms
    assert "calendar-year series, 2024 = 100" in real_terms and "secondary source" in real_terms
    assert "the calendar year it starts in (2023 for 2023-24, which holds 9 of its 12 months)" in real_terms
    assert real_terms.endswith("The series ends in 2024, so 2025-26 has no real-terms figure.")
    [per_plan] = [chart for chart in funding.charts if chart.key == "la_per_plan"]
    assert "2024 prices" in per_plan.title and "dashed" in per_plan.alt
    # The deflator stops short of 2025-26, so the real-terms span gives its own years.
    assert per_plan.reading == (
        "High-needs block per EHC plan, in cash: Camden £40,000 in 2022-23 to £42,069 in 2025-26 (in 2024 prices "
        "£44,199 in 2022-23 to £37,857 in 2024-25)."
    )


def test_a_warehouse_not_upgraded_since_the_deflator_shows_cash_and_says_how_to_add_real_terms() -> None:
    funding = section(data(_camden(), pl.DataFrame(), funding=_funding(real_terms=False)))
    [real_terms] = [p for p in funding.paragraphs if p.startswith("Real terms")]
    [table] = funding.tables

    assert "not shown" in real_terms and "sendflow db upgrade" in real_terms
    assert table.frame["high_needs_per_ehcp_real_2024_gbp"].is_null().all()
    assert table.frame["high_needs_gbp_per_ehcp"].is_not_null().all()
