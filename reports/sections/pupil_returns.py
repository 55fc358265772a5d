"""The pupil-returns section: from the trust's own census returns, needs by year group and the returns
against the published figures, every count under disclosure control."""

from __future__ import annotations

import polars as pl

from sendflow.core.vocabulary import ChartKind
from sendflow.reports.disclosure import Suppression, suppress
from sendflow.reports.formatting import need_label, pct, plural
from sendflow.reports.model import Chart, Column, ReportTable, Section, TrustData

# National curriculum years in school order; anything else (unexpected codes) follows, sorted.
NC_YEARS = ("N1", "N2", "R", *(str(n) for n in range(1, 15)), "X")


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
        shown_total = table.shown(last, year)
        total = shown_total if isinstance(shown_total, int) and shown_total > 0 else None  # None: hidden or 0
        shares: list[float | None] = []
        for i in range(last):
            count = table.shown(i, year)
            shares.append(100.0 * count / total if total is not None and isinstance(count, int) else None)
        hidden = max(0.0, 100.0 - sum(share or 0.0 for share in shares)) if total is not None else None
        rows += [(year, frame["primary_need"][i], share, hidden) for i, share in enumerate(shares)]
    schema = {"year_group": pl.String, "primary_need": pl.String, "share": pl.Float64, "hidden_share": pl.Float64}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _suppression_note(suppression: Suppression) -> str:
    return (
        f"{plural(len(suppression.primary), 'count')} below {suppression.threshold} hidden, and "
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
        f"{need_label(needs['primary_need'][top])} ({pct(share, 0)}); cells shown c are hidden for disclosure."
    )


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
            f"All {plural(frame.height, 'school')}' returns match the published January figures wherever a "
            "difference can be shown."
        )
    return (
        f"{len(differing)} of {plural(frame.height, 'school')} differ from the published figures: "
        f"{', '.join(differing[:4])}."
    )


def section(data: TrustData, threshold: int) -> Section | None:
    needs = need_by_year_group(data, threshold)
    rec = reconciliation(data, threshold)
    if needs is None and rec is None:
        return None
    charts, tables = [], []
    if needs is not None:
        charts.append(
            Chart(
                "need_by_year_group",
                ChartKind.NEED_BY_YEAR_GROUP,
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
                ChartKind.RECONCILIATION,
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
