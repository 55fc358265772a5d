"""The schools section: each member school against its LA and national, flagged at a distance, and primary
needs by school where the loaded census has them."""

from __future__ import annotations

import polars as pl

from sendflow.core.vocabulary import NEED_CODES, ChartKind
from sendflow.reports.formatting import pct, plural
from sendflow.reports.model import Chart, Column, ReportTable, Section, TrustData
from sendflow.reports.sections.common import CENSUS_COUNTS


def schools(data: TrustData, distance: float) -> ReportTable:
    """Each member school in the chosen year against its LA and national, flagged when either rate is at least
    `distance` percentage points from its LA's."""
    year = data.academic_year
    members = data.members.filter(pl.col("academic_year") == year)
    la = data.la_census.filter(pl.col("academic_year") == year).select(
        "la_code",
        pl.col("ehc_plan_pct").alias("la_ehc_plan_pct"),
        pl.col("sen_support_pct").alias("la_sen_support_pct"),
    )
    national = data.national.filter(pl.col("academic_year") == year)
    national_ehc = national["ehc_plan_pct"][0] if national.height else None
    national_sen = national["sen_support_pct"][0] if national.height else None
    frame = (
        members.join(la, on="la_code", how="left")
        .with_columns(
            pl.lit(national_ehc, dtype=pl.Float64).alias("national_ehc_plan_pct"),
            pl.lit(national_sen, dtype=pl.Float64).alias("national_sen_support_pct"),
            (pl.col("ehc_plan_pct") - pl.col("la_ehc_plan_pct")).alias("ehc_plan_gap_pp"),
            (pl.col("sen_support_pct") - pl.col("la_sen_support_pct")).alias("sen_support_gap_pp"),
        )
        .with_columns(_flag(distance).alias("flag"), pl.col("school_type").str.strip_prefix("State-funded "))
        .sort("la_code", "school_name", "urn")
    )
    columns = (
        Column("school_name", "School", "text"),
        Column("urn", "URN", "text"),
        Column("la_name", "LA", "text"),
        Column("school_type", "Type", "text"),
        Column("total_pupils", "Pupils", "count"),
        Column("ehc_plan", "EHC plans", "count"),
        Column("ehc_plan_pct", "EHC plan %", "pct"),
        Column("la_ehc_plan_pct", "LA EHC plan %", "pct"),
        Column("ehc_plan_gap_pp", "EHC gap (points)", "pp"),
        Column("sen_support", "SEN support", "count"),
        Column("sen_support_pct", "SEN support %", "pct"),
        Column("la_sen_support_pct", "LA SEN support %", "pct"),
        Column("sen_support_gap_pp", "SEN support gap (points)", "pp"),
        Column("national_ehc_plan_pct", "National EHC plan %", "pct"),
        Column("national_sen_support_pct", "National SEN support %", "pct"),
        Column("flag", f"Flag (±{distance:g} points from LA)", "text"),
    )
    statuses = [f"{c}_status" for c in CENSUS_COUNTS]
    return ReportTable(
        "schools",
        f"Each school, {year}",
        columns,
        frame.select([c.name for c in columns] + statuses),
        note="Published school-level figures (DfE school census, January), shown as published. Gap: the school's "
        "rate minus its LA's, in percentage points.",
    )


def _flag(distance: float) -> pl.Expr:
    def side(gap: str, label: str) -> pl.Expr:
        # Rounded so a gap of exactly the distance (9% against 4%) is not lost to floating-point noise.
        points = pl.col(gap).round(9)
        return (
            pl.when(points >= distance)
            .then(pl.lit(f"{label} above LA"))
            .when(points <= -distance)
            .then(pl.lit(f"{label} below LA"))
        )

    return pl.concat_str(
        side("ehc_plan_gap_pp", "EHC plans"),
        side("sen_support_gap_pp", "SEN support"),
        separator="; ",
        ignore_nulls=True,
    ).replace("", None)


def _schools_reading(table: ReportTable, distance: float) -> str:
    frame = table.frame
    flagged = frame.filter(pl.col("flag").is_not_null())
    if flagged.is_empty():
        return (
            f"All {plural(frame.height, 'school')} are within {distance:g} percentage points of their LA's EHC "
            "plan and SEN support rates."
        )
    names = ", ".join(f"{row['school_name']} ({row['flag']})" for row in flagged.head(3).iter_rows(named=True))
    more = f" and {flagged.height - 3} more" if flagged.height > 3 else ""
    return (
        f"{flagged.height} of {plural(frame.height, 'school')} differ from their LA by {distance:g} percentage "
        f"points or more: {names}{more}."
    )


def school_needs(data: TrustData) -> ReportTable | None:
    """EHC plan and SEN support pupils by primary need per school, where the loaded census has the breakdown
    (DfE's SEN school-level underlying data; the performance tables have none)."""
    members = data.members.filter(pl.col("academic_year") == data.academic_year)
    need_columns = [f"{kind}_primary_need_{code}" for kind in ("ehc", "sen_support") for code in NEED_CODES]
    missing = [c for c in need_columns if c not in members.columns]  # a census layout without needs
    members = members.with_columns(pl.lit(None, dtype=pl.Int64).alias(c) for c in missing)
    has_needs = members.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in need_columns))
    if has_needs.is_empty():
        return None
    rows = []
    for kind, label, total in (("ehc", "EHC plan", "ehc_plan"), ("sen_support", "SEN support", "sen_support")):
        rows.append(
            has_needs.select(
                "school_name",
                "urn",
                pl.lit(label).alias("provision"),
                pl.col(total).alias("pupils"),
                *(pl.col(f"{kind}_primary_need_{code}").alias(code) for code in NEED_CODES),
            )
        )
    frame = pl.concat(rows).sort("school_name", "urn", "provision")
    columns = (
        Column("school_name", "School", "text"),
        Column("urn", "URN", "text"),
        Column("provision", "Provision", "text"),
        Column("pupils", "Pupils", "count"),
        *(Column(code, code.upper(), "count") for code in NEED_CODES),
    )
    return ReportTable(
        "school_needs",
        f"Primary need by school, {data.academic_year}",
        columns,
        frame,
        note="Published school-level figures, shown as published. "
        + ", ".join(f"{code.upper()}: {code.label}" for code in NEED_CODES)
        + ".",
    )


def _needs_reading(table: ReportTable) -> str:
    ehc = table.frame.filter(pl.col("provision") == "EHC plan")
    sums = {code: float(ehc[code].sum() or 0) for code in NEED_CODES}
    total = sum(sums.values())
    if not total:
        return "The loaded census gives no primary needs for the trust's pupils with EHC plans."
    top = sorted(sums, key=lambda code: -sums[code])[:2]
    return (
        f"Across the trust's schools, the commonest primary needs of pupils with EHC plans are {top[0].label} "
        f"({pct(100 * sums[top[0]] / total, 0)}) and {top[1].label} ({pct(100 * sums[top[1]] / total, 0)})."
    )


def section(data: TrustData, distance: float) -> Section:
    table = schools(data, distance)
    charts = [
        Chart(
            "school_rates",
            ChartKind.SCHOOL_RATES,
            f"Each school against its LA and national, {data.academic_year}",
            table.key,
            _schools_reading(table, distance),
            f"Dot plots per school of EHC plan % and SEN support %, with its LA's rate, a band of ±{distance:g} "
            "points around it, and the national rate.",
            band=distance,
        )
    ]
    tables = [table]
    paragraphs = [
        f"A school is flagged when its EHC plan % or SEN support % is {distance:g} percentage points or more above "
        f"or below its LA's (setting SENDFLOW_REPORT_LA_DISTANCE_PCT_POINTS)."
    ]
    needs = school_needs(data)
    if needs is None:
        paragraphs.append(
            f"Primary needs by school: the census loaded for {data.academic_year} has no primary-need breakdown "
            "(it comes with DfE's SEN school-level underlying data, not the performance tables)."
        )
    else:
        charts.append(
            Chart(
                "school_needs",
                ChartKind.SCHOOL_NEEDS,
                f"Primary need of pupils with EHC plans, {data.academic_year}",
                needs.key,
                _needs_reading(needs),
                "Stacked bars per school: the share of its pupils with EHC plans by primary need.",
            )
        )
        tables.append(needs)
    return Section("schools", "Each school", tuple(paragraphs), tuple(charts), tuple(tables))
