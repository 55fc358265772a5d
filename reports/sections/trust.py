"""The trust section: pupils, EHC plans and SEN support by year against its LAs (pupil-weighted) and national."""

from __future__ import annotations

import polars as pl

from sendflow.core.vocabulary import ChartKind
from sendflow.reports.formatting import pct
from sendflow.reports.model import Chart, Column, ReportTable, Section, TrustData
from sendflow.reports.sections.common import CENSUS_COUNTS, complete, rate

# Below this many schools a "national" figure cannot be all of England (about 24,400 schools publish a census).
ENGLAND_SCHOOLS_AT_LEAST = 20_000


def trust_by_year(data: TrustData) -> ReportTable:
    """Pupils, EHC plans and SEN support per year, beside the LAs' rates weighted by the trust's pupils in
    each LA, and the national rates: v_trust_send_summary's method, with SEN support weighted the same way."""
    members = complete(data.members)
    totals = members.group_by("academic_year").agg(pl.len().alias("schools"), *(pl.col(c).sum() for c in CENSUS_COUNTS))
    la_rates = data.la_census.select(
        "academic_year",
        "la_code",
        (pl.col("ehc_plan") / pl.col("total_pupils")).alias("la_ehc_rate"),
        (pl.col("sen_support") / pl.col("total_pupils")).alias("la_sen_rate"),
    )
    weighted = (
        members.group_by("academic_year", "la_code")
        .agg(pl.col("total_pupils").sum().alias("pupils"))
        .join(la_rates, on=["academic_year", "la_code"], how="inner")
        .group_by("academic_year")
        .agg(
            (100.0 * (pl.col("pupils") * pl.col("la_ehc_rate")).sum() / pl.col("pupils").sum()).alias(
                "la_ehc_plan_pct"
            ),
            (100.0 * (pl.col("pupils") * pl.col("la_sen_rate")).sum() / pl.col("pupils").sum()).alias(
                "la_sen_support_pct"
            ),
        )
    )
    national = data.national.select(
        "academic_year",
        pl.col("ehc_plan_pct").alias("national_ehc_plan_pct"),
        pl.col("sen_support_pct").alias("national_sen_support_pct"),
    )
    frame = (
        totals.with_columns(
            rate("ehc_plan", "total_pupils").alias("ehc_plan_pct"),
            rate("sen_support", "total_pupils").alias("sen_support_pct"),
        )
        .join(weighted, on="academic_year", how="left")
        .join(national, on="academic_year", how="left")
        .sort("academic_year")
    )
    columns = (
        Column("academic_year", "Year", "year"),
        Column("schools", "Schools", "count"),
        Column("total_pupils", "Pupils", "count"),
        Column("ehc_plan", "EHC plans", "count"),
        Column("ehc_plan_pct", "EHC plan %", "pct"),
        Column("la_ehc_plan_pct", "Its LAs' EHC plan %", "pct"),
        Column("national_ehc_plan_pct", "National EHC plan %", "pct"),
        Column("sen_support", "SEN support", "count"),
        Column("sen_support_pct", "SEN support %", "pct"),
        Column("la_sen_support_pct", "Its LAs' SEN support %", "pct"),
        Column("national_sen_support_pct", "National SEN support %", "pct"),
    )
    return ReportTable(
        "trust_by_year",
        "The trust by year",
        columns,
        frame.select([c.name for c in columns]),
        note="Schools that publish pupils, EHC plans and SEN support, as members on each census day. Its LAs: each "
        "LA's rate weighted by the trust's own pupils there.",
    )


def _trust_reading(table: ReportTable) -> str:
    frame = table.frame
    latest = frame.row(frame.height - 1, named=True)
    text = (
        f"In {latest['academic_year']}, {pct(latest['ehc_plan_pct'])} of the trust's {latest['total_pupils']:,} "
        f"pupils had an EHC plan (its LAs {pct(latest['la_ehc_plan_pct'])}, national "
        f"{pct(latest['national_ehc_plan_pct'])}) and {pct(latest['sen_support_pct'])} were on SEN support "
        f"(its LAs {pct(latest['la_sen_support_pct'])}, national {pct(latest['national_sen_support_pct'])})"
    )
    if frame.height > 1:
        first = frame.row(0, named=True)
        change = (latest["ehc_plan_pct"] or 0) - (first["ehc_plan_pct"] or 0)
        text += (
            f"; its EHC plan rate {'rose' if change > 0 else 'fell' if change < 0 else 'held'} "
            f"{abs(change):.1f} points since {first['academic_year']}"
        )
    return text + "."


def _national_caveat(data: TrustData) -> str:
    national = data.national.filter(pl.col("academic_year") == data.academic_year)
    schools = int(national["schools"][0]) if national.height else 0
    text = f"National: every school loaded for the year ({schools:,} in {data.academic_year})"
    if schools < ENGLAND_SCHOOLS_AT_LEAST:
        text += ", which is not all of England: load the national census file for true national rates"
    return text + "."


def section(data: TrustData) -> Section:
    table = trust_by_year(data)
    chart = Chart(
        "trust_rates",
        ChartKind.TRUST_RATES,
        "Pupils, EHC plan % and SEN support % by year",
        table.key,
        _trust_reading(table),
        "Bar charts by academic year: the trust's pupils, and its EHC plan and SEN support percentages beside its "
        "LAs' (pupil-weighted) and national.",
    )
    tables = (table, unmatched) if (unmatched := unmatched_schools(data)) is not None else (table,)
    return Section("trust", "The trust", (*membership_notes(data), _national_caveat(data)), (chart,), tables)


def unmatched_schools(data: TrustData) -> ReportTable | None:
    """Member schools of the year's extract missing from its census, each with GIAS's reason: never carried
    over to a successor URN, which may belong to another trust."""
    if data.unmatched.is_empty():
        return None
    columns = (
        Column("school_name", "School (as in the membership extract)", "text"),
        Column("urn", "URN", "text"),
        Column("reason", "Why it is not matched", "text"),
    )
    return ReportTable(
        "unmatched_schools",
        f"Member schools not in the {data.academic_year} census",
        columns,
        data.unmatched.select([c.name for c in columns]),
        note="Not counted in the trust's figures. A successor school under a new URN is not counted for the "
        "trust: an academy that moves trust is given a new URN.",
    )


def membership_notes(data: TrustData) -> tuple[str, ...]:
    """Where each reported year's membership comes from and how old it is, and every year left out and why."""
    if data.years.is_empty():
        return ()
    notes = []
    for row in data.years.sort("academic_year").iter_rows(named=True):
        extract, age = row["membership_extract_date"], row["membership_age_months"]
        if row["left_out_reason"] is not None:
            notes.append(f"{row['academic_year']} is not reported as the trust's: {row['left_out_reason']}.")
        elif extract is not None and age is not None:
            when = f"{age} months before" if age >= 0 else f"{-age} months after"
            notes.append(
                f"{row['academic_year']}: membership as at {extract:%-d %B %Y} (GIAS group links), {when} the census "
                "day."
            )
    return tuple(notes)
