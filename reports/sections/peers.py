"""The peers section: a multi-academy trust among every MAT reported for the same year, on EHC plan % and
SEN support %: its rank, its percentile and where it falls in the distribution."""

from __future__ import annotations

import math

import polars as pl

from sendflow.core.vocabulary import ChartKind
from sendflow.reports.formatting import pct
from sendflow.reports.model import Chart, Column, ReportTable, Section, TrustData
from sendflow.reports.peers import RANKED, SMALL_TRUST_SCHOOLS

BAND_PCT_POINTS = 0.5  # width of the distribution's bands
_LABELS = {"ehc_plan_pct": "EHC plan %", "sen_support_pct": "SEN support %"}


def standing(data: TrustData) -> ReportTable:
    """One row per measure: the trust's rate, rank, peers, percentile and the peers' quartiles."""
    own = data.years.filter(pl.col("academic_year") == data.academic_year).row(0, named=True)
    rows = []
    for measure in RANKED:
        rates = data.peers[measure].drop_nulls()
        rows.append(
            {
                "measure": _LABELS[measure],
                "trust_pct": own[measure],
                "rank": own[f"{measure}_rank"],
                "peer_trusts": rates.len(),
                "percentile": own[f"{measure}_percentile"],
                "lower_quartile_pct": rates.quantile(0.25, "linear"),
                "median_pct": rates.median(),
                "upper_quartile_pct": rates.quantile(0.75, "linear"),
            }
        )
    columns = (
        Column("measure", "Measure", "text"),
        Column("trust_pct", "The trust", "pct"),
        Column("rank", "Rank (1 = highest)", "count"),
        Column("peer_trusts", "MATs ranked", "count"),
        Column("percentile", "Percentile (share of MATs lower)", "index"),
        Column("lower_quartile_pct", "MATs' lower quartile", "pct"),
        Column("median_pct", "MATs' median", "pct"),
        Column("upper_quartile_pct", "MATs' upper quartile", "pct"),
    )
    frame = pl.DataFrame(
        rows,
        schema={
            "measure": pl.String, "trust_pct": pl.Float64, "rank": pl.Int64, "peer_trusts": pl.Int64,
            "percentile": pl.Float64, "lower_quartile_pct": pl.Float64, "median_pct": pl.Float64,
            "upper_quartile_pct": pl.Float64,
        },
    )  # fmt: skip
    return ReportTable(
        "peer_standing",
        f"Among multi-academy trusts, {data.academic_year}",
        columns,
        frame,
        note="Ranked among every multi-academy trust reported for the year (membership recent enough, see above). "
        "Published school-level figures.",
    )


def distribution(data: TrustData) -> ReportTable:
    """How many MATs fall in each half-point band of EHC plan % and SEN support %, and which band holds the
    trust. The bands stop at the 98th percentile of either rate, the last one open: a few special-school
    trusts near 100% would otherwise stretch the chart and the table past all the others."""
    own = data.years.filter(pl.col("academic_year") == data.academic_year).row(0, named=True)
    tops = [data.peers[m].drop_nulls().quantile(0.98, "higher") or 0.0 for m in RANKED]
    last = max(1, math.ceil(max(float(t) for t in tops) / BAND_PCT_POINTS))  # the open band's index

    def band(value: float) -> int:
        return min(math.floor(value / BAND_PCT_POINTS), last)

    rows = []
    for i in range(last + 1):
        start = round(i * BAND_PCT_POINTS, 6)
        row: dict[str, object] = {"band_from_pct": start, "band_to_pct": None if i == last else start + BAND_PCT_POINTS}
        for measure in RANKED:
            row[f"{measure}_trusts"] = sum(1 for v in data.peers[measure].drop_nulls() if band(v) == i)
            value = own[measure]
            row[f"{measure}_band"] = "the trust" if value is not None and band(value) == i else ""
        rows.append(row)
    frame = pl.DataFrame(rows, schema_overrides={"band_to_pct": pl.Float64})
    columns = (
        Column("band_from_pct", "From", "pct"),
        Column("band_to_pct", "To (not included; none: and over)", "pct"),
        Column("ehc_plan_pct_trusts", "MATs by EHC plan %", "count"),
        Column("ehc_plan_pct_band", "EHC plan %", "text"),
        Column("sen_support_pct_trusts", "MATs by SEN support %", "count"),
        Column("sen_support_pct_band", "SEN support %", "text"),
    )
    return ReportTable("peer_distribution", f"Multi-academy trusts by rate, {data.academic_year}", columns, frame)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n:,}{suffix}"


def _reading(table: ReportTable) -> str:
    parts = []
    for row in table.frame.iter_rows(named=True):
        if row["rank"] is None:
            continue
        parts.append(
            f"{row['measure']} {pct(row['trust_pct'])} ranks {_ordinal(row['rank'])} of {row['peer_trusts']:,} "
            f"(higher than {row['percentile']:.0f}% of them; median {pct(row['median_pct'])})"
        )
    return "Among multi-academy trusts: " + "; ".join(parts) + "." if parts else "The trust is not ranked."


def section(data: TrustData) -> Section | None:
    """None for a trust that is not a ranked MAT this year (a single-academy trust, or no peers loaded)."""
    if data.years.is_empty() or data.peers.is_empty():
        return None
    own = data.years.filter(pl.col("academic_year") == data.academic_year)
    if own.is_empty() or own["ehc_plan_pct_rank"][0] is None:
        return None
    table = standing(data)
    spread = distribution(data)
    chart = Chart(
        "peer_distribution",
        ChartKind.PEER_DISTRIBUTION,
        "Where the trust falls among multi-academy trusts",
        spread.key,
        _reading(table),
        "Two histograms of every multi-academy trust reported for the year, by EHC plan % and by SEN support %, "
        "in half-point bands; the band holding this trust is drawn in the trust's colour.",
    )
    paragraphs = []
    if bool(own["is_small"][0]):
        paragraphs.append(
            f"Small trust: fewer than {SMALL_TRUST_SCHOOLS} of its schools matched in the census, so one school "
            "moves its rates and its rank."
        )
    return Section("peers", "Beside its peers", tuple(paragraphs), (chart,), (table, spread))
