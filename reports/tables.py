"""The trust SEND report's tables and their one-line readings: pure Polars, frames in, report tables out.

`build.py` reads the warehouse into a `TrustData`; `trust_report` turns it into sections of tables, each
chart's specification (which table it draws, and what it says in one plain-English line) and the
disclosure rule applied. Nothing here reads files or the database, so every number is testable from frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import polars as pl

from sendflow.reports.disclosure import Suppression, suppress
from sendflow.transforms.school_census import NEED_CODES

Kind = Literal["text", "count", "pct", "pp", "gbp", "index", "year"]
# Below this many schools a "national" figure cannot be all of England (about 24,400 schools publish a census).
ENGLAND_SCHOOLS_AT_LEAST = 20_000
NEED_NAMES = {
    "asd": "Autistic spectrum disorder",
    "slcn": "Speech, language and communication needs",
    "semh": "Social, emotional and mental health",
    "mld": "Moderate learning difficulty",
    "sld": "Severe learning difficulty",
    "pmld": "Profound and multiple learning difficulty",
    "spld": "Specific learning difficulty",
    "pd": "Physical disability",
    "hi": "Hearing impairment",
    "vi": "Visual impairment",
    "msi": "Multi-sensory impairment",
    "oth": "Other difficulty or disability",
    "nsa": "SEN support but no specialist assessment",
}
# National curriculum years in school order; anything else (unexpected codes) follows, sorted.
NC_YEARS = ("N1", "N2", "R", *(str(n) for n in range(1, 15)), "X")
CENSUS_COUNTS = ("total_pupils", "ehc_plan", "sen_support")


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: Kind


@dataclass(frozen=True)
class ReportTable:
    """One table of the page and of the exports. `hidden` cells show as `c` (disclosure control); a NULL
    published value shows its publisher's symbol from the `<column>_status` column when the frame has one."""

    key: str
    title: str
    columns: tuple[Column, ...]
    frame: pl.DataFrame
    origin: Literal["published", "pupil-level"] = "published"
    hidden: frozenset[tuple[int, str]] = frozenset()
    note: str = ""

    def shown(self, row: int, column: str) -> object:
        """The value as the page and the exports give it: 'c' if hidden, else the value (or its status)."""
        if (row, column) in self.hidden:
            return "c"
        value = self.frame[column][row]
        if value is None and f"{column}_status" in self.frame.columns:
            return self.frame[f"{column}_status"][row]
        return value


@dataclass(frozen=True)
class Chart:
    """What a chart draws and says: `kind` picks the drawing in charts.py, `table` is the data behind it."""

    key: str
    kind: str
    title: str
    table: str
    reading: str
    alt: str
    band: float | None = None  # school_rates: the flag distance drawn around each LA's rate


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    paragraphs: tuple[str, ...] = ()
    charts: tuple[Chart, ...] = ()
    tables: tuple[ReportTable, ...] = ()


@dataclass(frozen=True)
class TrustData:
    """Everything the report reads, as read from the warehouse (see build.load_trust_data)."""

    trust_id: str
    trust_name: str | None
    trust_ref: str | None
    trust_type: str | None
    academic_year: str
    members: pl.DataFrame  # one row per member school per academic year up to the chosen one
    la_census: pl.DataFrame  # v_la_census_summary for those LAs and years
    national: pl.DataFrame  # v_national_census_summary for those years
    funding: pl.DataFrame  # v_la_send_funding_gap for the LAs of the chosen year
    pupil_counts: pl.DataFrame | None = None  # on-roll pupils by urn, nc_year, primary_need, sen_provision
    pupil_term: str | None = None
    reconciliation: pl.DataFrame | None = None  # v_census_reconciliation rows of the trust's schools, with names
    sources: pl.DataFrame = field(default_factory=pl.DataFrame)  # the etl_load rows behind the figures
    demo_note: str | None = None  # set when the trust's membership is the demo's invented one


@dataclass(frozen=True)
class TrustReport:
    trust_id: str
    trust_name: str
    trust_ref: str | None
    trust_type: str | None
    academic_year: str
    generated_on: date
    threshold: int
    distance_pct_points: float
    disclosure_rule: str
    sections: tuple[Section, ...]
    demo_note: str | None = None

    @property
    def tables(self) -> tuple[ReportTable, ...]:
        return tuple(table for section in self.sections for table in section.tables)

    @property
    def charts(self) -> tuple[Chart, ...]:
        return tuple(chart for section in self.sections for chart in section.charts)

    def table(self, key: str) -> ReportTable:
        return next(table for table in self.tables if table.key == key)


# ----------------------------------------------------------------------------------------------- formatting


def pct(value: float | None, places: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{places}f}%"


def pounds(value: float | None) -> str:
    if value is None:
        return "n/a"
    if abs(value) >= 1_000_000:
        return f"£{value / 1_000_000:,.1f}m"
    return f"£{value:,.0f}"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _complete(frame: pl.DataFrame) -> pl.DataFrame:
    # The views count only schools publishing all three counts, so numerators and denominators match.
    return frame.filter(pl.all_horizontal(pl.col(c).is_not_null() for c in CENSUS_COUNTS))


def _rate(numerator: str, denominator: str) -> pl.Expr:
    return pl.when(pl.col(denominator) > 0).then(100.0 * pl.col(numerator) / pl.col(denominator))


# ----------------------------------------------------------------------------------------------- the trust


def trust_by_year(data: TrustData) -> ReportTable:
    """Pupils, EHC plans and SEN support per year, beside the LAs' rates weighted by the trust's pupils in
    each LA, and the national rates: v_trust_send_summary's method, with SEN support weighted the same way."""
    members = _complete(data.members)
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
            _rate("ehc_plan", "total_pupils").alias("ehc_plan_pct"),
            _rate("sen_support", "total_pupils").alias("sen_support_pct"),
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


# ----------------------------------------------------------------------------------------------- schools


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
            f"All {_plural(frame.height, 'school')} are within {distance:g} percentage points of their LA's EHC "
            "plan and SEN support rates."
        )
    names = ", ".join(f"{row['school_name']} ({row['flag']})" for row in flagged.head(3).iter_rows(named=True))
    more = f" and {flagged.height - 3} more" if flagged.height > 3 else ""
    return (
        f"{flagged.height} of {_plural(frame.height, 'school')} differ from their LA by {distance:g} percentage "
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
        + ", ".join(f"{code.upper()}: {NEED_NAMES[code]}" for code in NEED_CODES)
        + ".",
    )


def _needs_reading(table: ReportTable) -> str:
    ehc = table.frame.filter(pl.col("provision") == "EHC plan")
    sums = {code: ehc[code].sum() or 0 for code in NEED_CODES}
    total = sum(sums.values())
    if not total:
        return "The loaded census gives no primary needs for the trust's pupils with EHC plans."
    top = sorted(sums, key=lambda code: -sums[code])[:2]
    return (
        f"Across the trust's schools, the commonest primary needs of pupils with EHC plans are {NEED_NAMES[top[0]]} "
        f"({pct(100 * sums[top[0]] / total, 0)}) and {NEED_NAMES[top[1]]} ({pct(100 * sums[top[1]] / total, 0)})."
    )


# ----------------------------------------------------------------------------------------------- funding


FUNDING_SCHEMA = {
    "la_code": pl.String, "la_name": pl.String, "financial_year": pl.String, "ehcp_caseload": pl.Float64,
    "high_needs_block_gbp": pl.Float64, "high_needs_gbp_per_ehcp": pl.Float64,
    "high_needs_net_outturn_gbp": pl.Float64,
}  # fmt: skip


def _funding_rows(funding: pl.DataFrame) -> pl.DataFrame:
    """v_la_send_funding_gap's columns, typed alike on both backends (and present when nothing is loaded)."""
    if funding.is_empty():
        return pl.DataFrame(schema=FUNDING_SCHEMA)
    return funding.select(pl.col(name).cast(kind) for name, kind in FUNDING_SCHEMA.items())


def la_funding(data: TrustData) -> ReportTable:
    """EHC plans and the high-needs block in each LA the trust works in, indexed to the LA's first financial
    year with both loaded (so the two growths share a base), per plan in cash, and s251 outturn beside the
    allocation where loaded."""
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
            _rate("high_needs_net_outturn_gbp", "high_needs_block_gbp").alias("outturn_pct_of_block"),
        )
        .sort("la_code", "financial_year")
    )
    columns = (
        Column("la_name", "LA", "text"),
        Column("la_code", "LA code", "text"),
        Column("financial_year", "Financial year", "year"),
        Column("ehcp_caseload", "EHC plans (January)", "count"),
        Column("high_needs_block_gbp", "High-needs block £", "gbp"),
        Column("base_year", "Index base year", "year"),
        Column("ehcp_index", "EHC plans (base = 100)", "index"),
        Column("high_needs_index", "High-needs block (base = 100)", "index"),
        Column("high_needs_gbp_per_ehcp", "High-needs block £ per EHC plan (cash)", "gbp"),
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
        "so it is a ratio, not a cost per plan. Outturn: s251 net spend on lines 1.0.2 and 1.2.x.",
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
        parts.append(f"{last['la_name']} {span}{pounds(last['high_needs_gbp_per_ehcp'])} in {last['financial_year']}")
    if not parts:
        return "No year has both EHC plans and a high-needs allocation loaded for the trust's LAs."
    return "High-needs block per EHC plan, in cash: " + "; ".join(parts) + "."


def _outturn_reading(table: ReportTable) -> str:
    known = table.frame.filter(pl.col("outturn_pct_of_block").is_not_null())
    latest = known["financial_year"].max()
    rows = known.filter(pl.col("financial_year") == latest)
    parts = [f"{row['la_name']} {pct(row['outturn_pct_of_block'], 0)}" for row in rows.iter_rows(named=True)]
    return (
        f"In {latest}, s251 high-needs net outturn as a share of the high-needs block allocation: {', '.join(parts)}."
    )


# ----------------------------------------------------------------------------------------------- pupil level


def _year_order(years: list[str]) -> list[str]:
    known = [y for y in NC_YEARS if y in years]
    return known + sorted(set(years) - set(NC_YEARS))


def need_by_year_group(data: TrustData, threshold: int) -> ReportTable | None:
    """On-roll pupils with SEN (EHC plan or SEN support) by primary need and year group, from the trust's own
    returns, with row and column totals, suppressed for disclosure."""
    if data.pupil_counts is None or data.pupil_counts.is_empty():
        return None
    sen = data.pupil_counts.filter(pl.col("sen_provision").is_in(["E", "K"])).with_columns(
        pl.col("primary_need").fill_null("Not recorded"), pl.col("nc_year").fill_null("Not recorded")
    )
    if sen.is_empty():
        return None
    years = _year_order(sen["nc_year"].unique().to_list())
    counts = sen.group_by("primary_need", "nc_year").agg(pl.col("pupils").sum())
    wide = counts.pivot(on="nc_year", index="primary_need", values="pupils").fill_null(0)
    for year in years:
        if year not in wide.columns:
            wide = wide.with_columns(pl.lit(0).alias(year))
    wide = wide.select("primary_need", *years).with_columns(pl.sum_horizontal(years).alias("total"))
    wide = wide.sort(pl.col("total"), pl.col("primary_need"), descending=[True, False])
    sums = [pl.col(c).sum() for c in [*years, "total"]]
    total_row = wide.select(pl.lit("All SEN pupils").alias("primary_need"), *sums)
    frame = pl.concat([wide, total_row]).with_columns(pl.col([*years, "total"]).cast(pl.Int64))
    grid = frame.select(*years, "total").rows()
    suppression = suppress(grid, threshold, row_totals=True, column_totals=True)
    names = [*years, "total"]
    hidden = frozenset((i, names[j]) for i, j in suppression.cells)
    columns = (
        Column("primary_need", "Primary need", "text"),
        *(Column(y, f"Year {y}" if y.isdigit() else y, "count") for y in years),
        Column("total", "All years", "count"),
    )
    return ReportTable(
        "need_by_year_group",
        f"SEN pupils by primary need and year group, {data.academic_year} {data.pupil_term}",
        columns,
        frame,
        origin="pupil-level",
        hidden=hidden,
        note=f"From the trust's own census returns (pupils on roll with an EHC plan or on SEN support). "
        f"{_suppression_note(suppression)}",
    )


def year_group_shares(table: ReportTable) -> pl.DataFrame:
    """Each need's share of a year group's SEN pupils, as the chart draws them: a share only where both the
    count and the year group's total are shown (a share of a hidden count would reveal it), and the part the
    hidden counts make up together (total minus the shown counts: no more than the table already gives).
    `hidden_share` is NULL where the year group's total is itself hidden."""
    frame = table.frame
    last = frame.height - 1
    years = [c.name for c in table.columns if c.kind == "count" and c.name != "total"]
    rows = []
    for year in years:
        total = table.shown(last, year)
        visible_total = isinstance(total, int) and total > 0
        shares = []
        for i in range(last):
            count = table.shown(i, year)
            shares.append(100.0 * count / total if visible_total and isinstance(count, int) else None)
        hidden = max(0.0, 100.0 - sum(share or 0.0 for share in shares)) if visible_total else None
        rows += [(year, frame["primary_need"][i], share, hidden) for i, share in enumerate(shares)]
    schema = {"year_group": pl.String, "primary_need": pl.String, "share": pl.Float64, "hidden_share": pl.Float64}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _suppression_note(suppression: Suppression) -> str:
    return (
        f"{_plural(len(suppression.primary), 'count')} below {suppression.threshold} hidden, and "
        f"{len(suppression.secondary):,} more so they cannot be worked out from the totals."
    )


def _need_by_year_reading(table: ReportTable) -> str:
    frame = table.frame
    total_row = frame.height - 1
    shown_total = table.shown(total_row, "total")
    needs = frame.head(total_row)
    visible = [i for i in range(needs.height) if table.shown(i, "total") != "c"]
    if shown_total == "c" or not visible:
        return "Too few pupils with SEN in the returns to show their needs without risking identifying them."
    top = visible[0]
    share = 100 * needs["total"][top] / shown_total
    return (
        f"Of {shown_total:,} pupils with SEN in the trust's returns, the commonest primary need is "
        f"{_need_label(needs['primary_need'][top])} ({pct(share, 0)}); cells shown c are hidden for disclosure."
    )


def _need_label(code: str) -> str:
    return NEED_NAMES.get(code.lower(), code)


def reconciliation(data: TrustData, threshold: int) -> ReportTable | None:
    """The trust's returns against the published January figures per school, with a trust total; counts from
    the returns are suppressed, and so is a difference whose returned count is hidden (it would reveal it)."""
    if data.reconciliation is None or data.reconciliation.is_empty():
        return None
    rec = data.reconciliation.sort("school_name", "urn")
    measures = ("pupils", "ehc_plan", "sen_support")
    count_columns = [f"{m}_{kind}" for m in measures for kind in ("returned", "published", "diff")]
    total = rec.select(
        pl.lit("Trust total").alias("school_name"),
        pl.lit(None, dtype=pl.String).alias("urn"),
        *(pl.col(f"{m}_returned").sum() for m in measures),
        *(
            pl.when(pl.col(f"{m}_published").is_null().any())
            .then(None)
            .otherwise(pl.col(f"{m}_published").sum())
            .alias(f"{m}_published")
            for m in measures
        ),
    ).with_columns((pl.col(f"{m}_returned") - pl.col(f"{m}_published")).alias(f"{m}_diff") for m in measures)
    shown = ["school_name", "urn", *count_columns]
    frame = pl.concat([rec.select(shown), total.select(shown)])
    frame = frame.with_columns(pl.col(count_columns).cast(pl.Int64))
    returned = [f"{m}_returned" for m in measures]
    suppression = suppress(frame.select(returned).rows(), threshold, row_totals=False, column_totals=True)
    hidden = set()
    for i, j in suppression.cells:
        hidden |= {(i, returned[j]), (i, returned[j].replace("_returned", "_diff"))}
    labels = {"pupils": "Pupils", "ehc_plan": "EHC plans", "sen_support": "SEN support"}
    columns = (
        Column("school_name", "School", "text"),
        Column("urn", "URN", "text"),
        *(
            Column(f"{m}_{kind}", f"{labels[m]} {kind}" if kind != "diff" else f"{labels[m]} difference", "count")
            for m in measures
            for kind in ("returned", "published", "diff")
        ),
    )
    term = data.pupil_term or ""
    note = (
        "Returned: pupils on roll in the trust's own returns (registrations C and M). Published: DfE's January "
        f"school census, shown as published. {_suppression_note(suppression)} A difference is hidden with its "
        "returned count."
    )
    if term != "spring":
        note += " Only the January (spring) census is published: other terms have nothing to compare with."
    return ReportTable(
        "reconciliation",
        f"The trust's returns against published figures, {data.academic_year} {term}",
        columns,
        frame,
        origin="pupil-level",
        hidden=frozenset(hidden),
        note=note,
    )


def _reconciliation_reading(table: ReportTable) -> str:
    frame = table.frame.head(table.frame.height - 1)
    diffs = [f"{m}_diff" for m in ("pupils", "ehc_plan", "sen_support")]
    if frame["pupils_published"].null_count() == frame.height:
        return "Nothing is published for this census term, so the returns cannot be compared."
    differing = [
        row["school_name"]
        for i, row in enumerate(frame.iter_rows(named=True))
        if any(table.shown(i, d) not in (0, "c", None) for d in diffs)
    ]
    if not differing:
        return (
            f"All {_plural(frame.height, 'school')}' returns match the published January figures wherever a "
            "difference can be shown."
        )
    return (
        f"{len(differing)} of {_plural(frame.height, 'school')} differ from the published figures: "
        f"{', '.join(differing[:4])}."
    )


# ----------------------------------------------------------------------------------------------- the report


def disclosure_rule(threshold: int) -> str:
    return (
        f"Counts derived from the trust's pupil-level returns from 1 to {threshold - 1} (below the threshold of "
        f"{threshold}) are shown as c. Secondary suppression then hides the smallest further counts needed so that "
        "no hidden count can be worked out by adding or subtracting rows, columns and totals (checked exactly "
        "for every table). A percentage or difference computed from a hidden count is hidden too. Zeros are shown. "
        "Published school-level DfE figures are shown as published; a c or x there is DfE's own symbol."
    )


def trust_report(data: TrustData, threshold: int, distance: float, generated_on: date) -> TrustReport:
    """The whole report: sections in page order, each chart with its reading and the table behind it."""
    name = data.trust_name or f"Trust {data.trust_id}"
    sections = [_trust_section(data), _schools_section(data, distance), _funding_section(data)]
    pupil_section = _pupil_section(data, threshold)
    if pupil_section is not None:
        sections.append(pupil_section)
    return TrustReport(
        data.trust_id,
        name,
        data.trust_ref,
        data.trust_type,
        data.academic_year,
        generated_on,
        threshold,
        distance,
        disclosure_rule(threshold),
        tuple(sections),
        data.demo_note,
    )


def _national_caveat(data: TrustData) -> str:
    national = data.national.filter(pl.col("academic_year") == data.academic_year)
    schools = int(national["schools"][0]) if national.height else 0
    text = f"National: every school loaded for the year ({schools:,} in {data.academic_year})"
    if schools < ENGLAND_SCHOOLS_AT_LEAST:
        text += ", which is not all of England: load the national census file for true national rates"
    return text + "."


def _trust_section(data: TrustData) -> Section:
    table = trust_by_year(data)
    chart = Chart(
        "trust_rates",
        "trust_rates",
        "Pupils, EHC plan % and SEN support % by year",
        table.key,
        _trust_reading(table),
        "Bar charts by academic year: the trust's pupils, and its EHC plan and SEN support percentages beside its "
        "LAs' (pupil-weighted) and national.",
    )
    return Section("trust", "The trust", (_national_caveat(data),), (chart,), (table,))


def _schools_section(data: TrustData, distance: float) -> Section:
    table = schools(data, distance)
    charts = [
        Chart(
            "school_rates",
            "school_rates",
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
                "school_needs",
                f"Primary need of pupils with EHC plans, {data.academic_year}",
                needs.key,
                _needs_reading(needs),
                "Stacked bars per school: the share of its pupils with EHC plans by primary need.",
            )
        )
        tables.append(needs)
    return Section("schools", "Each school", tuple(paragraphs), tuple(charts), tuple(tables))


def _funding_section(data: TrustData) -> Section:
    table = la_funding(data)
    members = data.members.filter(pl.col("academic_year") == data.academic_year)
    by_la = members.group_by("la_code", "la_name").len().sort("la_code")
    where = ", ".join(
        f"{row['la_name'] or row['la_code']} ({_plural(row['len'], 'school')})" for row in by_la.iter_rows(named=True)
    )
    paragraphs = [
        f"The trust's schools in {data.academic_year} are in {where}.",
        "Real terms: not shown. No HM Treasury GDP deflator table with a traceable source is committed to sendflow, "
        "so every amount here is in cash (the prices of its own year).",
    ]
    if table.frame.is_empty():
        paragraphs.append("No EHC plan or high-needs funding figures are loaded for these LAs.")
        return Section("funding", "Needs against funding in the trust's LAs", tuple(paragraphs), (), (table,))
    charts = []
    frame = table.frame
    if frame["high_needs_gbp_per_ehcp"].is_not_null().any():
        charts += [
            Chart(
                "la_growth",
                "la_growth",
                "EHC plans and high-needs block, indexed (base year = 100)",
                table.key,
                _growth_reading(table),
                "Line charts per LA: EHC plans and the high-needs block, each as an index of the first financial "
                "year with both loaded.",
            ),
            Chart(
                "la_per_plan",
                "la_per_plan",
                "High-needs block per EHC plan (cash)",
                table.key,
                _per_plan_reading(table),
                "Line chart per LA of the high-needs block allocation divided by EHC plans, in cash.",
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
                "la_outturn",
                "s251 high-needs outturn against the high-needs block",
                table.key,
                _outturn_reading(table),
                "Paired bars per LA and year: high-needs block allocation and s251 high-needs net outturn.",
            )
        )
    else:
        paragraphs.append("s251 outturn: none is loaded for these LAs, so spend is not compared with allocation.")
    return Section("funding", "Needs against funding in the trust's LAs", tuple(paragraphs), tuple(charts), (table,))


def _span(frame: pl.DataFrame, column: str) -> str:
    years = frame.filter(pl.col(column).is_not_null())["financial_year"]
    return f"loaded for {years.min()} to {years.max()}" if years.len() else "none loaded"


def _pupil_section(data: TrustData, threshold: int) -> Section | None:
    needs = need_by_year_group(data, threshold)
    rec = reconciliation(data, threshold)
    if needs is None and rec is None:
        return None
    charts, tables = [], []
    if needs is not None:
        charts.append(
            Chart(
                "need_by_year_group",
                "need_by_year_group",
                "Primary need by year group (share of SEN pupils)",
                needs.key,
                _need_by_year_reading(needs),
                "Stacked bars per year group: the share of its pupils with SEN by primary need; hidden counts grey.",
            )
        )
        tables.append(needs)
    if rec is not None:
        charts.append(
            Chart(
                "reconciliation",
                "reconciliation",
                "Returned minus published, per school",
                rec.key,
                _reconciliation_reading(rec),
                "Dot plot per school of the difference between returned and published pupils, EHC plans and "
                "SEN support; hidden differences marked c.",
            )
        )
        tables.append(rec)
    paragraphs = (
        f"From the trust's own {data.academic_year} {data.pupil_term} census returns, pseudonymised on loading. "
        "Disclosure control applies to every count here (see below).",
    )
    return Section("pupils", "The trust's own census returns", paragraphs, tuple(charts), tuple(tables))
