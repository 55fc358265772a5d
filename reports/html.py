"""The report as one self-contained HTML page: inline CSS (with print rules), charts as data URIs, no scripts
and no network assets, so it reads the same offline, in a mail attachment or printed to PDF.

Every table cell carries `data-col` and `data-value` (the unrounded value, or `c` where hidden), so tests and
scripts can check the page against the warehouse without parsing formatted numbers.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import date

import polars as pl

from sendflow.core.vocabulary import TrustType
from sendflow.reports.model import Column, ReportTable, TrustReport

CSS = """
:root { --ink: #1b1b1b; --muted: #5a5a5a; --rule: #d0d0d0; --accent: #1f4e79; --warn: #8a4b00; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; font: 15px/1.45 "DejaVu Sans", Arial, Helvetica, sans-serif; }
header.masthead, main, footer { max-width: 1180px; margin: 0 auto; padding: 0 24px; }
header.masthead { padding-top: 24px; border-bottom: 3px solid var(--accent); padding-bottom: 12px; }
.kicker { margin: 0; color: var(--accent); font-weight: bold; letter-spacing: .02em; }
h1 { margin: 4px 0 6px; font-size: 28px; line-height: 1.2; }
h2 { margin: 32px 0 8px; font-size: 21px; border-bottom: 1px solid var(--rule); padding-bottom: 4px; }
h3 { margin: 0; font-size: 16px; }
.meta { margin: 0; color: var(--muted); font-size: 13px; }
.demo { margin: 12px 0 0; padding: 10px 14px; background: #fff4e0; border-left: 5px solid var(--warn); }
nav.contents { max-width: 1180px; margin: 12px auto 0; padding: 0 24px; font-size: 14px; }
nav.contents ol { margin: 0; padding-left: 20px; columns: 2; }
figure.chart { margin: 18px 0; break-inside: avoid; page-break-inside: avoid; }
figure.chart figcaption { margin-bottom: 6px; }
p.reading { margin: 2px 0 0; font-size: 15px; }
p.reading::before { content: "Reading: "; font-weight: bold; color: var(--accent); }
figure.chart img { display: block; width: 100%; max-width: 1152px; height: auto; border: 1px solid #eee; }
.table-wrap { overflow-x: auto; margin: 10px 0 18px; }
table { border-collapse: collapse; font-size: 12.5px; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
th, td { border-bottom: 1px solid var(--rule); padding: 3px 7px; vertical-align: top; }
th { background: #f2f4f7; text-align: left; font-weight: bold; }
td.num { text-align: right; white-space: nowrap; }
td.c { text-align: right; color: var(--warn); font-weight: bold; }
td.status { text-align: right; color: var(--muted); }
tr.total td { font-weight: bold; border-top: 2px solid var(--ink); }
p.note, p.small { color: var(--muted); font-size: 12.5px; margin: 4px 0; }
.rule { padding: 10px 14px; background: #f2f4f7; border-left: 5px solid var(--accent); }
footer { margin-top: 32px; padding-top: 8px; padding-bottom: 32px; border-top: 1px solid var(--rule);
         color: var(--muted); font-size: 12.5px; }
a { color: var(--accent); }
@page { size: A4 landscape; margin: 11mm; }
@media print {
  body { font-size: 10.5pt; }
  header.masthead, main, footer, nav.contents { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  section { break-before: auto; }
  .table-wrap { overflow: visible; }
  table { font-size: 7.5pt; }
  th, td { padding: 2px 4px; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  figure.chart img { border: 0; width: auto; max-width: 100%; max-height: 85mm; }
  nav.contents ol { columns: 3; }
  a { color: inherit; text-decoration: none; }
}
"""

_TOTAL_LABELS = ("Trust total", "All SEN pupils")


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def formatted(value: object, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "count" and isinstance(value, int | float):
        return f"{value:,.0f}"
    if kind == "pct" and isinstance(value, int | float):
        return f"{value:.1f}%"
    if kind == "pp" and isinstance(value, int | float):
        return f"{value:+.1f}"
    if kind == "gbp" and isinstance(value, int | float):
        return f"{'−' if value < 0 else ''}£{abs(value):,.0f}"
    if kind == "index" and isinstance(value, int | float):
        return f"{value:.1f}"
    return str(value)


def _cell(table: ReportTable, row: int, column: Column) -> str:
    shown = table.shown(row, column.name)
    raw = table.frame[column.name][row]
    attributes = f'data-col="{_e(column.name)}"'
    if (row, column.name) in table.hidden:
        return f'<td class="c" {attributes} data-value="c" title="hidden (disclosure control)">c</td>'
    if raw is None and shown is not None:  # NULL with the publisher's symbol
        return f'<td class="status" {attributes} data-value="{_e(shown)}" title="publisher symbol">{_e(shown)}</td>'
    css = "num" if column.kind in ("count", "pct", "pp", "gbp", "index") else "text"
    value = "" if raw is None else repr(raw) if isinstance(raw, float) else str(raw)
    return f'<td class="{css}" {attributes} data-value="{_e(value)}">{_e(formatted(raw, column.kind))}</td>'


def table_html(table: ReportTable) -> str:
    head = "".join(f'<th scope="col" data-col="{_e(c.name)}">{_e(c.label)}</th>' for c in table.columns)
    body = []
    first = table.columns[0].name
    for i in range(table.frame.height):
        css = ' class="total"' if table.frame[first][i] in _TOTAL_LABELS else ""
        body.append(f"<tr{css}>" + "".join(_cell(table, i, c) for c in table.columns) + "</tr>")
    origin = "Derived from pupil-level data: disclosure control applied." if table.origin == "pupil-level" else ""
    note = " ".join(part for part in (table.note, origin) if part)
    return (
        f'<div class="table-wrap"><table data-table="{_e(table.key)}" data-origin="{_e(table.origin)}">'
        f"<caption>{_e(table.title)}</caption><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f'<p class="note">{_e(note)}</p></div>'
    )


def page(
    report: TrustReport,
    images: Mapping[str, str],
    downloads: Sequence[tuple[str, str]] = (),
    sources: pl.DataFrame | None = None,
) -> str:
    """The page; `images` maps each chart's key to its data URI, `downloads` (label, relative link) lists the
    CSV and XLSX files written beside it."""
    sections = []
    for section in report.sections:
        parts = [f'<section id="{_e(section.key)}"><h2>{_e(section.title)}</h2>']
        parts += [f"<p>{_e(text)}</p>" for text in section.paragraphs]
        for chart in section.charts:
            parts.append(
                f'<figure class="chart" id="chart-{_e(chart.key)}" data-chart="{_e(chart.key)}" '
                f'data-table="{_e(chart.table)}"><figcaption><h3>{_e(chart.title)}</h3>'
                f'<p class="reading">{_e(chart.reading)}</p></figcaption>'
                f'<img src="{images[chart.key]}" alt="{_e(chart.alt)}"></figure>'
            )
        parts += [table_html(table) for table in section.tables]
        parts.append("</section>")
        sections.append("".join(parts))
    contents = "".join(f'<li><a href="#{_e(s.key)}">{_e(s.title)}</a></li>' for s in report.sections)
    contents += '<li><a href="#disclosure">Disclosure control</a></li><li><a href="#sources">Sources and files</a></li>'
    demo = (
        f'<p class="demo" role="note"><strong>Synthetic pupil data:</strong> {_e(report.synthetic_note)}</p>'
        if report.synthetic_note
        else ""
    )
    meta = " · ".join(
        _e(part)
        for part in (
            f"Trust {report.trust_id}",
            report.trust_ref,
            report.trust_type,
            _status(report),
            f"generated {report.generated_on.isoformat()} by sendflow",
        )
        if part
    )
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="sendflow">
<title>{_e(report.trust_name)}: SEND report {_e(report.academic_year)}</title>
<style>{CSS}</style>
</head>
<body>
<header class="masthead">
<p class="kicker">SEND report · needs beside funding · academic year {_e(report.academic_year)}</p>
<h1>{_e(report.trust_name)}</h1>
<p class="meta">{meta}</p>
{demo}
</header>
<nav class="contents" aria-label="Contents"><ol>{contents}</ol></nav>
<main>
{"".join(sections)}
<section id="disclosure"><h2>Disclosure control</h2>
<p class="rule" data-threshold="{report.threshold}">{_e(report.disclosure_rule)}</p>
<p class="small">Threshold: setting SENDFLOW_REPORT_SUPPRESSION_THRESHOLD ({report.threshold}).</p>
</section>
<section id="sources"><h2>Sources and files</h2>
{_downloads(downloads)}
{_sources(sources)}
</section>
</main>
<footer>Needs beside funding, from the Department for Education's files as published (Open Government Licence
v3.0) and the trust's own census returns where loaded. Figures are as loaded in the sendflow warehouse on
{_e(report.generated_on.isoformat())}.</footer>
</body>
</html>
"""


def _status(report: TrustReport) -> str | None:
    """The trust's status in the newest group register: a trust closed since its membership extract says so."""
    if report.trust_status is None:
        return None
    if report.closed_date is not None:
        return f"{report.trust_status} since {report.closed_date:%-d %B %Y} (GIAS register)"
    return f"{report.trust_status} (GIAS register)"


def _downloads(downloads: Sequence[tuple[str, str]]) -> str:
    if not downloads:
        return ""
    links = "".join(f'<li><a href="{_e(href)}">{_e(label)}</a></li>' for label, href in downloads)
    return f"<p>The tables behind every chart, beside this page:</p><ul>{links}</ul>"


def _sources(sources: pl.DataFrame | None) -> str:
    if sources is None or sources.is_empty():
        return ""
    rows = "".join(
        f"<tr><td>{_e(r['dataset'])}</td><td>{_e(r['source_name'])}</td><td class='num'>{_e(r['load_id'])}</td>"
        f"<td>{_e(str(r['finished_at'])[:19])}</td></tr>"
        for r in sources.iter_rows(named=True)
    )
    return (
        '<div class="table-wrap"><table data-table="sources"><caption>Files behind these figures (etl_load)</caption>'
        "<thead><tr><th>Dataset</th><th>File</th><th>Load</th><th>Loaded (UTC)</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
    )


# The index's one script: filter rows by the search box and sort by a clicked column, all in the page (no
# network, nothing stored). Without scripts the table is still whole, sorted by name.
_INDEX_SCRIPT = """
(function () {
  var table = document.querySelector('table[data-table="index"]');
  var body = table.tBodies[0];
  var search = document.getElementById('search');
  var shown = document.getElementById('shown');
  function filter() {
    var words = search.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var count = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      var text = row.getAttribute('data-search');
      var keep = words.every(function (w) { return text.indexOf(w) >= 0; });
      row.hidden = !keep;
      if (keep) { count += 1; }
    });
    shown.textContent = count.toLocaleString('en-GB');
  }
  search.addEventListener('input', filter);
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell, column) {
    var button = cell.querySelector('button');
    if (!button) { return; }
    button.addEventListener('click', function () {
      var descending = cell.getAttribute('aria-sort') !== 'descending';
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute('aria-sort'); });
      cell.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
      var numeric = cell.getAttribute('data-kind') !== 'text';
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[column].getAttribute('data-value'), y = b.cells[column].getAttribute('data-value');
        if (x === '' || y === '') { return x === y ? 0 : (x === '' ? 1 : -1); }
        var order = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
        return descending ? -order : order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
})();
"""

_INDEX_COLUMNS: tuple[Column, ...] = (
    Column("trust_name", "Trust", "text"),
    Column("trust_id", "ID", "text"),
    Column("trust_type", "Type", "text"),
    Column("academic_year", "Year", "text"),
    Column("schools", "Schools", "count"),
    Column("total_pupils", "Pupils", "count"),
    Column("ehc_plan_pct", "EHC plan %", "pct"),
    Column("ehc_plan_gap_la_pp", "EHC gap to its LAs (points)", "pp"),
    Column("ehc_plan_gap_england_pp", "EHC gap to England (points)", "pp"),
    Column("ehc_plan_pct_rank", "EHC plan rank among MATs", "count"),
    Column("ehc_plan_pct_percentile", "EHC plan percentile among MATs", "index"),
    Column("sen_support_pct", "SEN support %", "pct"),
    Column("sen_support_gap_england_pp", "SEN support gap to England (points)", "pp"),
    Column("sen_support_pct_rank", "SEN support rank among MATs", "count"),
    Column("sen_support_pct_percentile", "SEN support percentile among MATs", "index"),
    Column("membership_extract_date", "Membership as at", "text"),
)


def _index_cell(entry: Mapping[str, object], column: Column) -> str:
    value = entry.get(column.name)
    raw = "" if value is None else repr(value) if isinstance(value, float) else str(value)
    css = "num" if column.kind != "text" else "text"
    if column.name == "trust_name":
        name = _e(value or f"Trust {entry['trust_id']}")
        href = entry.get("href")
        shown = f'<a href="{_e(href)}">{name}</a>' if href else name
        if entry.get("is_small"):
            shown += ' <span class="flag" title="fewer than 3 schools matched in the census">small</span>'
        if not href:
            why = entry.get("left_out_reason") or (
                f"report on request: sendflow report --trust {entry['trust_id']}"
                if entry.get("trust_type") == TrustType.SINGLE_ACADEMY
                else "no report written"
            )
            shown += f'<br><span class="small">{_e(why)}</span>'
        return f'<td class="text" data-col="trust_name" data-value="{_e(raw)}">{shown}</td>'
    if column.kind == "index" and isinstance(value, int | float):
        text = f"{value:.0f}"
    else:
        text = formatted(value, column.kind)
    return f'<td class="{css}" data-col="{_e(column.name)}" data-value="{_e(raw)}">{_e(text)}</td>'


def index_page(entries: Sequence[Mapping[str, object]], generated_on: date, max_age_months: int) -> str:
    """The --all-trusts index: every trust once, its report linked (relatively) where one was written;
    searchable and sortable by a small inline script; years left out listed with their reason."""
    rows = []
    for entry in entries:
        words = " ".join(str(entry.get(k) or "") for k in ("trust_name", "trust_id", "trust_type")).lower()
        cells = "".join(_index_cell(entry, column) for column in _INDEX_COLUMNS)
        rows.append(f'<tr data-search="{_e(words)}" data-trust="{_e(entry["trust_id"])}">{cells}</tr>')
    head = "".join(
        f'<th scope="col" data-col="{_e(c.name)}" data-kind="{_e(c.kind)}"><button type="button">{_e(c.label)}'
        "</button></th>"
        for c in _INDEX_COLUMNS
    )
    reports = sum(1 for e in entries if e.get("href"))
    left_out = [e for e in entries if e.get("years_left_out")]
    left_rows = "".join(
        f'<tr><td data-col="trust_name" data-value="{_e(e["trust_name"])}">{_e(e["trust_name"])}</td>'
        f'<td data-col="trust_id" data-value="{_e(e["trust_id"])}">{_e(e["trust_id"])}</td>'
        f'<td data-col="years_left_out" data-value="{_e(e["years_left_out"])}">{_e(e["years_left_out"])}</td></tr>'
        for e in left_out
    )
    left_table = (
        '<h2 id="left-out">Years left out</h2><div class="table-wrap"><table data-table="left_out"><thead><tr>'
        f"<th>Trust</th><th>ID</th><th>Year: why</th></tr></thead><tbody>{left_rows}</tbody></table></div>"
        if left_out
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Trust SEND reports</title><style>{CSS}
th button {{ all: unset; cursor: pointer; }} th[aria-sort="ascending"] button::after {{ content: " ▲"; }}
th[aria-sort="descending"] button::after {{ content: " ▼"; }} .flag {{ color: var(--warn); font-size: 11px; }}
input#search {{ font: inherit; padding: 4px 8px; width: 24em; }}</style></head>
<body>
<header class="masthead"><p class="kicker">SEND reports · needs beside funding</p><h1>Trust SEND reports</h1>
<p class="meta">{len(entries):,} trusts · {reports:,} reports · generated {generated_on.isoformat()} by sendflow</p>
</header>
<main>
<p>Each trust at the year of its report. Percentiles place a multi-academy trust among every multi-academy trust
reported for the same year (the share of them with a lower rate). Single-academy trusts are listed, and reported
on request. A year whose membership comes from a group-links extract more than {max_age_months} months older
than its census day is not reported (setting SENDFLOW_REPORT_MAX_MEMBERSHIP_AGE_MONTHS); such years are listed
below with the reason. "small": fewer than 3 of the trust's schools matched in the census. Click a column's
heading to sort by it.</p>
<p><label for="search">Search trusts (name, ID, type): </label><input id="search" type="search"
 autocomplete="off"> <span id="shown">{len(entries):,}</span> shown</p>
<div class="table-wrap"><table data-table="index"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody>
</table></div>
{left_table}
</main>
<script>{_INDEX_SCRIPT}</script>
</body>
</html>
"""
