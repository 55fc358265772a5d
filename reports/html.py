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
    demo = f'<p class="demo" role="note"><strong>Demo:</strong> {_e(report.demo_note)}</p>' if report.demo_note else ""
    meta = " · ".join(
        _e(part)
        for part in (
            f"Trust {report.trust_id}",
            report.trust_ref,
            report.trust_type,
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


def index_page(entries: Sequence[Mapping[str, object]], generated_on: date) -> str:
    """The --all-trusts index: one row per trust report, linked relatively."""
    rows = "".join(
        f'<tr><td><a href="{_e(e["href"])}">{_e(e["trust_name"])}</a></td><td>{_e(e["trust_id"])}</td>'
        f"<td>{_e(e['academic_year'])}</td><td class='num'>{formatted(e['schools'], 'count')}</td>"
        f"<td class='num'>{formatted(e['total_pupils'], 'count')}</td>"
        f"<td class='num'>{formatted(e['ehc_plan_pct'], 'pct')}</td>"
        f"<td class='num'>{formatted(e['sen_support_pct'], 'pct')}</td></tr>"
        for e in entries
    )
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Trust SEND reports</title><style>{CSS}</style></head>
<body>
<header class="masthead"><p class="kicker">SEND reports · needs beside funding</p><h1>Trust SEND reports</h1>
<p class="meta">{len(entries):,} trusts · generated {generated_on.isoformat()} by sendflow</p></header>
<main><div class="table-wrap"><table data-table="index"><thead><tr><th>Trust</th><th>ID</th><th>Year</th>
<th>Schools</th><th>Pupils</th><th>EHC plan %</th><th>SEN support %</th></tr></thead><tbody>{rows}</tbody></table>
</div></main>
</body>
</html>
"""
