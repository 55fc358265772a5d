"""The funding section: EHC plans beside the high-needs block in the trust's LAs, indexed, per plan (in cash
and in 2024 prices), and against s251 outturn."""

from __future__ import annotations

import polars as pl

from sendflow.core.vocabulary import ChartKind
from sendflow.reports.formatting import pct, plural, pounds
from sendflow.reports.model import Chart, Column, ReportTable, Section, TrustData
from sendflow.reports.sections.common import rate
from sendflow.warehouse.reference import GDP_DEFLATOR_SERIES

REAL_COLUMNS = {"high_needs_block_real_2024_gbp": pl.Float64, "high_needs_per_ehcp_real_2024_gbp": pl.Float64}
FUNDING_SCHEMA = {
    "la_code": pl.String, "la_name": pl.String, "financial_year": pl.String, "ehcp_caseload": pl.Float64,
    "high_needs_block_gbp": pl.Float64, "high_needs_gbp_per_ehcp": pl.Float64,
    "high_needs_net_outturn_gbp": pl.Float64, **REAL_COLUMNS,
}  # fmt: skip
REAL_TERMS = (
    f"Real terms: 2024 prices, by the {GDP_DEFLATOR_SERIES} (a calendar-year series, 2024 = 100, taken from a "
    "secondary source, the greenbook R package, not checked against HM Treasury's own workbook). A financial "
    "year takes the deflator of the calendar year it starts in (2023 for 2023-24, which holds 9 of its 12 months)."
)


def _has_real_terms(funding: pl.DataFrame) -> bool:
    # Readers never migrate: a warehouse not upgraded since the deflator came has the view without these columns.
    return funding.is_empty() or set(REAL_COLUMNS) <= set(funding.columns)


def _funding_rows(funding: pl.DataFrame) -> pl.DataFrame:
    """v_la_send_funding_gap's columns, typed alike on both backends (and present when nothing is loaded)."""
    if funding.is_empty():
        return pl.DataFrame(schema=FUNDING_SCHEMA)
    if not _has_real_terms(funding):
        funding = funding.with_columns(pl.lit(None, dtype=kind).alias(name) for name, kind in REAL_COLUMNS.items())
    return funding.select(pl.col(name).cast(kind) for name, kind in FUNDING_SCHEMA.items())


def la_funding(data: TrustData) -> ReportTable:
    """EHC plans and the high-needs block in each LA the trust works in, indexed to the LA's first financial
    year with both loaded (so the two growths share a base), the block and per plan in cash and in 2024 prices,
    and s251 outturn beside the allocation where loaded."""
    funding = _funding_rows(data.funding).filter(
        pl.col("ehcp_caseload").is_not_null() | pl.col("high_needs_block_gbp").is_not_null()
    )
    both = pl.col("ehcp_caseload").is_not_null() & pl.col("high_needs_block_gbp").is_not_null()
    base = (
        funding.filter(both)
        .group_by("la_code")
        .agg(pl.col("financial_year").min().alias("base_year"))
        .join(funding, left_on=["la_code", "base_year"], right_on=["la_code", "financial_year"])
        .select(
            "la_code",
            "base_year",
            pl.col("ehcp_caseload").alias("base_ehcp"),
            pl.col("high_needs_block_gbp").alias("base_hnb"),
        )
    )
    frame = (
        funding.join(base, on="la_code", how="left")
        .with_columns(
            pl.when(pl.col("financial_year") >= pl.col("base_year"))
            .then(100.0 * pl.col("ehcp_caseload") / pl.col("base_ehcp"))
            .alias("ehcp_index"),
            pl.when(pl.col("financial_year") >= pl.col("base_year"))
            .then(100.0 * pl.col("high_needs_block_gbp") / pl.col("base_hnb"))
            .alias("high_needs_index"),
            (pl.col("high_needs_net_outturn_gbp") - pl.col("high_needs_block_gbp")).alias("outturn_minus_block_gbp"),
            rate("high_needs_net_outturn_gbp", "high_needs_block_gbp").alias("outturn_pct_of_block"),
        )
        .sort("la_code", "financial_year")
    )
    columns = (
        Column("la_name", "LA", "text"),
        Column("la_code", "LA code", "text"),
        Column("financial_year", "Financial year", "year"),
        Column("ehcp_caseload", "EHC plans (January)", "count"),
        Column("high_needs_block_gbp", "High-needs block £ (cash)", "gbp"),
        Column("high_needs_block_real_2024_gbp", "High-needs block £ (2024 prices)", "gbp"),
        Column("base_year", "Index base year", "year"),
        Column("ehcp_index", "EHC plans (base = 100)", "index"),
        Column("high_needs_index", "High-needs block (base = 100)", "index"),
        Column("high_needs_gbp_per_ehcp", "High-needs block £ per EHC plan (cash)", "gbp"),
        Column("high_needs_per_ehcp_real_2024_gbp", "High-needs block £ per EHC plan (2024 prices)", "gbp"),
        Column("high_needs_net_outturn_gbp", "s251 high-needs net outturn £", "gbp"),
        Column("outturn_minus_block_gbp", "Outturn minus block £", "gbp"),
        Column("outturn_pct_of_block", "Outturn as % of block", "pct"),
    )
    return ReportTable(
        "la_funding",
        "Needs and funding in the trust's LAs",
        columns,
        frame.select([c.name for c in columns]),
        note="EHC plans: SEN2 caseload in the January of each financial year. High-needs block: DSG allocation "
        "before deductions. Per plan is the block divided by plans: the block also pays for pupils without plans, "
        "so it is a ratio, not a cost per plan. 2024 prices: cash x 100 / HM Treasury's calendar-year GDP deflator "
        "(2024 = 100) of the calendar year the financial year starts in; blank where the series has no such year. "
        "Outturn: s251 net spend on lines 1.0.2 and 1.2.x.",
    )


def _growth_reading(table: ReportTable) -> str:
    parts = []
    for la in table.frame.partition_by("la_code", maintain_order=True):
        indexed = la.filter(pl.col("ehcp_index").is_not_null() & pl.col("high_needs_index").is_not_null())
        if indexed.height < 2:
            continue
        last = indexed.row(indexed.height - 1, named=True)
        parts.append(
            f"{last['la_name']} EHC plans {last['ehcp_index'] - 100:+.0f}%, high-needs block "
            f"{last['high_needs_index'] - 100:+.0f}% ({last['base_year']} to {last['financial_year']})"
        )
    if not parts:
        return (
            "No LA of the trust has two years with both EHC plans and a high-needs allocation loaded, so no growth "
            "is compared."
        )
    return "; ".join(parts) + "."


def _real_span(known: pl.DataFrame) -> str:
    """The same LA's per-plan figures in 2024 prices, with their years where the deflator does not reach all."""
    real = known.filter(pl.col("high_needs_per_ehcp_real_2024_gbp").is_not_null())
    if real.is_empty():
        return ""
    first, last = real.row(0, named=True), real.row(real.height - 1, named=True)
    values = [pounds(first["high_needs_per_ehcp_real_2024_gbp"]), pounds(last["high_needs_per_ehcp_real_2024_gbp"])]
    if real.height == known.height:
        return f" ({values[0]} to {values[1]} in 2024 prices)" if real.height > 1 else f" ({values[1]} in 2024 prices)"
    if real.height == 1:
        return f" ({values[1]} in 2024 prices in {last['financial_year']})"
    return f" (in 2024 prices {values[0]} in {first['financial_year']} to {values[1]} in {last['financial_year']})"


def _per_plan_reading(table: ReportTable) -> str:
    parts = []
    for la in table.frame.partition_by("la_code", maintain_order=True):
        known = la.filter(pl.col("high_needs_gbp_per_ehcp").is_not_null())
        if known.is_empty():
            continue
        first, last = known.row(0, named=True), known.row(known.height - 1, named=True)
        span = ""
        if known.height > 1:
            span = f"{pounds(first['high_needs_gbp_per_ehcp'])} in {first['financial_year']} to "
        parts.append(
            f"{last['la_name']} {span}{pounds(last['high_needs_gbp_per_ehcp'])} in {last['financial_year']}"
            + _real_span(known)
        )
    if not parts:
        return "No year has both EHC plans and a high-needs allocation loaded for the trust's LAs."
    return "High-needs block per EHC plan, in cash: " + "; ".join(parts) + "."


def _outturn_reading(table: ReportTable) -> str:
    known = table.frame.filter(pl.col("outturn_pct_of_block").is_not_null())
    latest = known["financial_year"].max()
    rows = known.filter(pl.col("financial_year") == latest)
    parts = [f"{row['la_name']} {pct(row['outturn_pct_of_block'], 0)}" for row in rows.iter_rows(named=True)]
    return (
        f"In {latest!s}, s251 high-needs net outturn as a share of the high-needs block allocation: {', '.join(parts)}."
    )


def _span(frame: pl.DataFrame, column: str) -> str:
    years = frame.filter(pl.col(column).is_not_null())["financial_year"]
    return f"loaded for {years.min()!s} to {years.max()!s}" if years.len() else "none loaded"


def _real_terms_paragraph(data: TrustData, table: ReportTable) -> str:
    if not _has_real_terms(data.funding):
        return (
            "Real terms: not shown, as this warehouse predates the GDP deflator: `sendflow db upgrade` adds it. "
            "Every amount here is in cash (the prices of its own year)."
        )
    money = pl.col("high_needs_block_gbp").is_not_null()
    beyond = table.frame.filter(money & pl.col("high_needs_block_real_2024_gbp").is_null())["financial_year"]
    if beyond.is_empty():
        return REAL_TERMS
    years = sorted(beyond.unique().to_list())
    return (
        f"{REAL_TERMS} The series ends in 2024, so {', '.join(years)} {'has' if len(years) == 1 else 'have'} no "
        "real-terms figure."
    )


def section(data: TrustData) -> Section:
    table = la_funding(data)
    members = data.members.filter(pl.col("academic_year") == data.academic_year)
    by_la = members.group_by("la_code", "la_name").len().sort("la_code")
    where = ", ".join(
        f"{row['la_name'] or row['la_code']} ({plural(row['len'], 'school')})" for row in by_la.iter_rows(named=True)
    )
    paragraphs = [f"The trust's schools in {data.academic_year} are in {where}.", _real_terms_paragraph(data, table)]
    if table.frame.is_empty():
        paragraphs.append("No EHC plan or high-needs funding figures are loaded for these LAs.")
        return Section("funding", "Needs against funding in the trust's LAs", tuple(paragraphs), (), (table,))
    charts = []
    frame = table.frame
    if frame["high_needs_gbp_per_ehcp"].is_not_null().any():
        charts += [
            Chart(
                "la_growth",
                ChartKind.LA_GROWTH,
                "EHC plans and high-needs block, indexed (base year = 100)",
                table.key,
                _growth_reading(table),
                "Line charts per LA: EHC plans and the high-needs block, each as an index of the first financial "
                "year with both loaded.",
            ),
            Chart(
                "la_per_plan",
                ChartKind.LA_PER_PLAN,
                "High-needs block per EHC plan, cash and 2024 prices",
                table.key,
                _per_plan_reading(table),
                "Line chart per LA of the high-needs block allocation divided by EHC plans: solid lines in cash, "
                "dashed lines in 2024 prices (HM Treasury GDP deflator, calendar-year).",
            ),
        ]
    else:
        paragraphs.append(
            f"No financial year has both EHC plans ({_span(frame, 'ehcp_caseload')}) and a high-needs block "
            f"allocation ({_span(frame, 'high_needs_block_gbp')}) loaded for these LAs, so growth and funding per "
            "plan are not compared."
        )
    if frame["outturn_pct_of_block"].is_not_null().any():
        charts.append(
            Chart(
                "la_outturn",
                ChartKind.LA_OUTTURN,
                "s251 high-needs outturn against the high-needs block",
                table.key,
                _outturn_reading(table),
                "Paired bars per LA and year: high-needs block allocation and s251 high-needs net outturn.",
            )
        )
    else:
        paragraphs.append("s251 outturn: none is loaded for these LAs, so spend is not compared with allocation.")
    return Section("funding", "Needs against funding in the trust's LAs", tuple(paragraphs), tuple(charts), (table,))
