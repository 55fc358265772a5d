"""The report's charts: matplotlib on the Agg canvas (no display, no pyplot state), PNG bytes, data URIs.

Each drawing takes the report table behind it, so a chart can only show what its table shows: hidden cells
(disclosure control) are drawn as gaps or `c`, never as values.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable

import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from sendflow.core.vocabulary import ChartKind
from sendflow.reports.formatting import need_label
from sendflow.reports.model import Chart, ReportTable
from sendflow.reports.sections.pupil_returns import year_group_shares

TRUST, LA, NATIONAL, FLAGGED = "#1f4e79", "#d9730d", "#8c8c8c", "#c0392b"
HIDDEN = "#d9d9d9"
WIDTH = 9.6  # inches; at DPI this is about the page's text width, so charts print without rescaling blur
DPI = 120
_NEED_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
)


def render(chart: Chart, table: ReportTable) -> bytes:
    """The chart as PNG bytes."""
    figure = DRAWINGS[chart.kind](chart, table)
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    # No Software tag: the same data then gives the same bytes, run after run.
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _figure(height: float) -> Figure:
    figure = Figure(figsize=(WIDTH, height), layout="constrained")
    figure.set_facecolor("white")
    return figure


def _style(axes: Axes, title: str) -> None:
    axes.set_title(title, loc="left", fontsize=10, fontweight="bold")
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(labelsize=8)


def _percent_axis(axes: Axes, axis: str = "y") -> None:
    formatter = FuncFormatter(lambda v, _: f"{v:g}%")
    (axes.yaxis if axis == "y" else axes.xaxis).set_major_formatter(formatter)


def _short(text: str, width: int = 34) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _bar_labels(axes: Axes, bars: BarContainer, places: int = 1, suffix: str = "") -> None:
    axes.bar_label(bars, labels=[f"{b.get_height():,.{places}f}{suffix}" for b in bars], fontsize=7, padding=2)


def trust_rates(chart: Chart, table: ReportTable) -> Figure:
    frame = table.frame
    years = frame["academic_year"].to_list()
    figure = _figure(3.3)
    pupils, ehc, sen = figure.subplots(1, 3, gridspec_kw={"width_ratios": [0.8, 1.1, 1.1]})
    positions = list(range(len(years)))
    bars = pupils.bar(positions, frame["total_pupils"].fill_null(0).to_list(), color=TRUST, width=0.6)
    _bar_labels(pupils, bars, 0)
    pupils.set_xticks(positions, years)
    _style(pupils, "Pupils")
    width = 0.26
    for axes, measure, title in ((ehc, "ehc_plan_pct", "EHC plan %"), (sen, "sen_support_pct", "SEN support %")):
        series = (
            ("The trust", measure, TRUST),
            ("Its LAs (pupil-weighted)", f"la_{measure}", LA),
            ("National", f"national_{measure}", NATIONAL),
        )
        for k, (label, column, colour) in enumerate(series):
            values = frame[column].fill_null(0).to_list()
            bars = axes.bar([p + (k - 1) * width for p in positions], values, width, label=label, color=colour)
            _bar_labels(axes, bars)
        axes.set_xticks(positions, years)
        _percent_axis(axes)
        axes.margins(y=0.18)
        _style(axes, title)
    ehc.legend(fontsize=7, frameon=False, loc="upper left")
    return figure


def school_rates(chart: Chart, table: ReportTable) -> Figure:
    frame = table.frame
    band = chart.band or 0.0
    names = [_short(name or urn) for name, urn in zip(frame["school_name"], frame["urn"], strict=True)]
    figure = _figure(1.2 + 0.34 * max(len(names), 2))
    axes_pair = figure.subplots(1, 2, sharey=True)
    rows = list(range(len(names)))[::-1]  # first school at the top
    for axes, measure, title in zip(
        axes_pair, ("ehc_plan", "sen_support"), ("EHC plan %", "SEN support %"), strict=True
    ):
        school, la, national = frame[f"{measure}_pct"], frame[f"la_{measure}_pct"], frame[f"national_{measure}_pct"]
        gap = frame[f"{measure}_gap_pp"]
        for y, value, la_value, gap_value in zip(rows, school, la, gap, strict=True):
            if la_value is not None:
                axes.barh(y, 2 * band, left=la_value - band, height=0.6, color=LA, alpha=0.15, linewidth=0)
                axes.plot([la_value, la_value], [y - 0.3, y + 0.3], color=LA, linewidth=2)
            if value is None:
                axes.annotate("not published", (0, y), fontsize=7, va="center", color=NATIONAL)
                continue
            far = gap_value is not None and round(abs(gap_value), 9) >= band  # as sections.schools._flag decides
            axes.plot(value, y, "o", color=FLAGGED if far else TRUST, markersize=6, zorder=3)
        if national.drop_nulls().len():
            axes.axvline(national.drop_nulls()[0], color=NATIONAL, linestyle="--", linewidth=1)
        axes.set_xlim(left=0)
        _percent_axis(axes, "x")
        _style(axes, title)
    axes_pair[0].set_yticks(rows, names)
    handles = [
        axes_pair[1].plot([], [], "o", color=TRUST, label="School")[0],
        axes_pair[1].plot([], [], "o", color=FLAGGED, label=f"School ≥{band:g} points from its LA")[0],
        axes_pair[1].plot([], [], color=LA, linewidth=2, label=f"Its LA (band ±{band:g} points)")[0],
        axes_pair[1].plot([], [], color=NATIONAL, linestyle="--", label="National")[0],
    ]
    figure.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=7, frameon=False)
    return figure


def _stacked_shares(
    axes: Axes, labels: list[str], shares: list[dict[str, float]], hidden: list[float | None], order: list[str]
) -> None:
    """Horizontal 100% bars, one per label, segments in `order`, then a grey segment for hidden counts; a
    label whose total is itself hidden gets a `c` and no bar."""
    rows = list(range(len(labels)))[::-1]
    colours = {key: _NEED_COLOURS[k % len(_NEED_COLOURS)] for k, key in enumerate(order)}
    drawn: set[str] = set()
    for y, share, rest in zip(rows, shares, hidden, strict=True):
        if rest is None:
            axes.annotate("c (total hidden)", (1, y), fontsize=7, va="center", color="#555555")
            continue
        left = 0.0
        for key in order:
            value = share.get(key, 0.0)
            if value > 0:
                axes.barh(y, value, left=left, color=colours[key], height=0.7, label=key if key not in drawn else None)
                drawn.add(key)
                left += value
        if rest > 0:
            axes.barh(
                y,
                rest,
                left=left,
                color=HIDDEN,
                hatch="///",
                edgecolor="white",
                height=0.7,
                label="hidden (c)" if "hidden" not in drawn else None,
            )
            drawn.add("hidden")
    axes.set_yticks(rows, labels)
    axes.set_xlim(0, 100)
    _percent_axis(axes, "x")
    # Legend in need order, hidden last, whatever order the bars were drawn in.
    handles = {h.get_label(): h for h in axes.containers}
    ordered = [handles[key] for key in [*order, "hidden (c)"] if key in handles]
    axes.figure.legend(handles=ordered, loc="outside lower center", ncols=4, fontsize=7, frameon=False)


def school_needs(chart: Chart, table: ReportTable) -> Figure:
    ehc = table.frame.filter(pl.col("provision") == "EHC plan")
    codes = [c.name for c in table.columns if c.kind == "count" and c.name != "pupils"]
    labels, shares, rests = [], [], []
    for row in ehc.iter_rows(named=True):
        total = sum(row[c] or 0 for c in codes)
        labels.append(_short(row["school_name"]))
        shares.append({need_label(c): 100 * (row[c] or 0) / total for c in codes} if total else {})
        rests.append(0.0 if total else None)
    figure = _figure(1.4 + 0.34 * max(len(labels), 2))
    axes = figure.subplots()
    _stacked_shares(axes, labels, shares, rests, [need_label(c) for c in codes])
    _style(axes, "Share of each school's pupils with EHC plans, by primary need")
    return figure


def _by_la(frame: pl.DataFrame) -> list[pl.DataFrame]:
    return frame.partition_by("la_code", maintain_order=True)


def la_growth(chart: Chart, table: ReportTable) -> Figure:
    las = [la for la in _by_la(table.frame) if la["high_needs_index"].is_not_null().any()]
    columns = min(len(las), 3) or 1
    lines = (len(las) + columns - 1) // columns or 1
    figure = _figure(2.6 * lines)
    grid = figure.subplots(lines, columns, squeeze=False)
    for k, axes in enumerate(grid.flat):
        if k >= len(las):
            axes.set_visible(False)
            continue
        la = las[k].filter(pl.col("ehcp_index").is_not_null() | pl.col("high_needs_index").is_not_null())
        years = la["financial_year"].to_list()
        for column, label, colour in (("ehcp_index", "EHC plans", TRUST), ("high_needs_index", "High-needs block", LA)):
            points = [(y, v) for y, v in zip(years, la[column], strict=True) if v is not None]
            if points:
                axes.plot([p[0] for p in points], [p[1] for p in points], "o-", color=colour, label=label)
                axes.annotate(
                    f"{points[-1][1]:.0f}",
                    points[-1],
                    textcoords="offset points",
                    xytext=(4, 0),
                    fontsize=7,
                    color=colour,
                    va="center",
                )
        axes.axhline(100, color=NATIONAL, linewidth=0.8, linestyle=":")
        axes.tick_params(axis="x", rotation=30)
        base = las[k]["base_year"].drop_nulls()
        _style(axes, las[k]["la_name"][0])
        axes.set_ylabel(f"index, {base[0] if base.len() else 'first year'} = 100", fontsize=8)
    grid.flat[0].legend(fontsize=7, frameon=False, loc="upper left")
    return figure


def la_per_plan(chart: Chart, table: ReportTable) -> Figure:
    # Taller with real terms: two lines per LA, and cash labels clear of the other LAs' lines.
    figure = _figure(4.2 if table.frame["high_needs_per_ehcp_real_2024_gbp"].is_not_null().any() else 3.0)
    axes = figure.subplots()
    colours = (TRUST, LA, "#2ca02c", "#9467bd", "#8c564b", "#17becf")
    years = sorted(table.frame.filter(pl.col("high_needs_gbp_per_ehcp").is_not_null())["financial_year"].unique())
    real_drawn = False
    for k, la in enumerate(_by_la(table.frame)):
        known = la.filter(pl.col("high_needs_gbp_per_ehcp").is_not_null())
        if known.is_empty():
            continue
        xs = [years.index(y) for y in known["financial_year"]]
        values = known["high_needs_gbp_per_ehcp"].to_list()
        colour = colours[k % len(colours)]
        axes.plot(xs, values, "o-", color=colour, label=la["la_name"][0])
        # The real-terms line has no value labels, and the cash labels go below the points: real terms sit
        # above cash for every year before the base year, where labels above would sit on the dashed line.
        real = known.filter(pl.col("high_needs_per_ehcp_real_2024_gbp").is_not_null())
        below = not real.is_empty()
        if below:
            real_xs = [years.index(y) for y in real["financial_year"]]
            axes.plot(real_xs, real["high_needs_per_ehcp_real_2024_gbp"].to_list(), "o--", color=colour, markersize=3)
            real_drawn = True
        for x, value in zip(xs, values, strict=True):
            axes.annotate(
                f"£{value / 1000:,.1f}k",
                (x, value),
                textcoords="offset points",
                xytext=(0, -6) if below else (0, 6),
                ha="center",
                va="top" if below else "baseline",
                fontsize=7,
                color=colour,
            )
    axes.set_xticks(range(len(years)), years)
    axes.set_xlim(-0.5, len(years) - 0.5)
    axes.set_ylim(bottom=0, top=axes.get_ylim()[1] * 1.12)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"£{v / 1000:,.0f}k"))
    handles, labels = axes.get_legend_handles_labels()
    title = "High-needs block per EHC plan, cash"
    if real_drawn:
        handles += [Line2D([], [], color=NATIONAL), Line2D([], [], color=NATIONAL, linestyle="--")]
        labels += ["cash", "2024 prices (GDP deflator)"]
        title = "High-needs block per EHC plan: cash (solid) and 2024 prices (dashed)"
    _style(axes, title)
    figure.legend(handles, labels, loc="outside lower center", ncols=8, fontsize=7, frameon=False)
    return figure


def la_outturn(chart: Chart, table: ReportTable) -> Figure:
    known = table.frame.filter(pl.col("high_needs_net_outturn_gbp").is_not_null())
    labels = [f"{row['la_name']}\n{row['financial_year']}" for row in known.iter_rows(named=True)]
    positions = list(range(len(labels)))
    figure = _figure(3.0)
    axes = figure.subplots()
    width = 0.38
    pairs = (
        (-width / 2, "high_needs_block_gbp", "High-needs block allocation", LA),
        (width / 2, "high_needs_net_outturn_gbp", "s251 high-needs net outturn", TRUST),
    )
    for offset, column, label, colour in pairs:
        values = [(v or 0) / 1e6 for v in known[column]]
        bars = axes.bar([p + offset for p in positions], values, width, label=label, color=colour)
        axes.bar_label(bars, labels=[f"£{v:,.1f}m" for v in values], fontsize=7, padding=2)
    axes.set_xticks(positions, labels)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"£{v:,.0f}m"))
    axes.margins(y=0.15)
    _style(axes, "Allocation and outturn, £ million, cash")
    figure.legend(loc="outside lower center", ncols=2, fontsize=7, frameon=False)
    return figure


def need_by_year_group(chart: Chart, table: ReportTable) -> Figure:
    years = [c.name for c in table.columns if c.kind == "count" and c.name != "total"]
    needs = table.frame["primary_need"].head(table.frame.height - 1).to_list()
    shares = year_group_shares(table)
    labels, segments, rests = [], [], []
    for year in years:
        mine = shares.filter(pl.col("year_group") == year)
        labels.append(f"Year {year}" if year.isdigit() else year)
        hidden_total = mine["hidden_share"][0] is None
        segments.append(
            {}
            if hidden_total
            else {need_label(n): v for n, v in zip(mine["primary_need"], mine["share"], strict=True) if v}
        )
        rests.append(None if hidden_total else mine["hidden_share"][0])
    figure = _figure(1.4 + 0.3 * max(len(labels), 2))
    axes = figure.subplots()
    _stacked_shares(axes, labels, segments, rests, [need_label(n) for n in needs])
    _style(axes, "Share of each year group's pupils with SEN, by primary need")
    return figure


def reconciliation(chart: Chart, table: ReportTable) -> Figure:
    frame = table.frame
    names = [_short(n or u or "") for n, u in zip(frame["school_name"], frame["urn"], strict=True)]
    rows = list(range(len(names)))[::-1]
    figure = _figure(1.3 + 0.36 * max(len(names), 2))
    axes = figure.subplots()
    measures = (
        ("pupils", "Pupils", TRUST, "o", 0.2),
        ("ehc_plan", "EHC plans", LA, "^", 0.0),
        ("sen_support", "SEN support", "#2ca02c", "s", -0.2),
    )
    extent: float = 1
    for measure, label, colour, marker, offset in measures:
        xs: list[float] = []
        ys: list[float] = []
        for i, y in enumerate(rows):
            value = table.shown(i, f"{measure}_diff")
            if value == "c":
                axes.annotate(
                    "c",
                    (0, y + offset),
                    textcoords="offset points",
                    xytext=(-14, 0),
                    fontsize=7,
                    color=colour,
                    va="center",
                )
            elif isinstance(value, int | float):  # a shown difference (the table's counts are whole numbers)
                xs.append(value)
                ys.append(y + offset)
        axes.plot(xs, ys, marker, color=colour, label=label, linestyle="none", markersize=5)
        extent = max([extent, *(abs(x) for x in xs)])
    axes.axvline(0, color=NATIONAL, linewidth=1)
    axes.set_xlim(-extent * 1.3 - 1, extent * 1.3 + 1)
    axes.set_yticks(rows, names)
    axes.set_xlabel("returned minus published (pupils)", fontsize=8)
    _style(axes, "Difference between the trust's returns and the published figures")
    figure.legend(loc="outside lower center", ncols=3, fontsize=7, frameon=False)
    return figure


def peer_distribution(chart: Chart, table: ReportTable) -> Figure:
    frame = table.frame
    figure = _figure(2.8)
    panels = figure.subplots(1, 2)
    width = float(frame["band_to_pct"][0] or 0.5)  # every band but the open last one is this wide
    for axes, measure, title in zip(
        panels, ("ehc_plan_pct", "sen_support_pct"), ("EHC plan %", "SEN support %"), strict=True
    ):
        counts = frame[f"{measure}_trusts"].to_list()
        mine = [bool(mark) for mark in frame[f"{measure}_band"].to_list()]
        used = [i for i, n in enumerate(counts) if n or mine[i]]
        if not used:
            continue
        shown = range(used[0], used[-1] + 1)  # the populated bands only: SEN support sits far right of EHC
        axes.bar(
            [frame["band_from_pct"][i] for i in shown],
            [counts[i] for i in shown],
            width=width * 0.92,
            align="edge",
            color=[TRUST if mine[i] else NATIONAL for i in shown],
        )
        if frame["band_to_pct"][len(counts) - 1] is None and counts[-1] and (len(counts) - 1) in shown:
            axes.annotate("and over", (frame["band_from_pct"][len(counts) - 1], counts[-1]), fontsize=7)
        _percent_axis(axes, "x")
        axes.set_ylabel("Multi-academy trusts", fontsize=8)
        _style(axes, f"{title} (the trust's band in blue)")
    return figure


DRAWINGS: dict[ChartKind, Callable[[Chart, ReportTable], Figure]] = {
    ChartKind.TRUST_RATES: trust_rates,
    ChartKind.SCHOOL_RATES: school_rates,
    ChartKind.SCHOOL_NEEDS: school_needs,
    ChartKind.LA_GROWTH: la_growth,
    ChartKind.LA_PER_PLAN: la_per_plan,
    ChartKind.LA_OUTTURN: la_outturn,
    ChartKind.NEED_BY_YEAR_GROUP: need_by_year_group,
    ChartKind.RECONCILIATION: reconciliation,
    ChartKind.PEER_DISTRIBUTION: peer_distribution,
}
