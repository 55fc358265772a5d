"""Write a trust's report: one HTML page, a CSV per table, one XLSX.

    out_dir/trust-<id>-<2023-24>.html            the page (self-contained)
    out_dir/trust-<id>-<2023-24>.xlsx            every table, one sheet each
    out_dir/trust-<id>-<2023-24>-tables/*.csv    every table

`--all-trusts` (and `make demo`) put each trust's files in `<reports>/trust-<id>/`, the folder refresh-marts
keeps current, and write `<reports>/index.html` linking them.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

import polars as pl

from sendflow.core.files import atomic_write_bytes, atomic_write_with
from sendflow.core.settings import ReportOptions
from sendflow.core.vocabulary import TrustType
from sendflow.reports import exports, html
from sendflow.reports.model import TrustData, TrustReport
from sendflow.reports.read import ReportError, load_trust_data, read_trust_years
from sendflow.reports.report import trust_report
from sendflow.transforms.common import normalise_academic_year
from sendflow.warehouse.connection import Warehouse

_SAFE = re.compile(r"[^A-Za-z0-9_-]")


# A report process costs ~1.3 s to start (imports) and a report ~1 s: fewer trusts each are quicker in one.
MIN_TRUSTS_PER_PROCESS = 2


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    csvs: tuple[Path, ...]
    xlsx: Path


@dataclass(frozen=True)
class TrustOutcome:
    trust_id: str
    files: ReportFiles | None  # None: nothing to report, and `skipped` says why
    academic_year: str | None = None
    skipped: str | None = None


@dataclass(frozen=True)
class AllReports:
    index: Path
    reports: tuple[ReportFiles, ...]
    skipped: tuple[tuple[str, str], ...]  # (trust_id, why)


def report_stem(trust_id: str, academic_year: str) -> str:
    return f"trust-{_SAFE.sub('_', trust_id)}-{academic_year.replace('/', '-')}"


def trust_report_dir(reports_dir: Path, trust_id: str) -> Path:
    """A trust's folder among many (flows/marts.py keeps the reports found in these current)."""
    return Path(reports_dir) / f"trust-{_SAFE.sub('_', trust_id)}"


def render_report(
    data: TrustData, options: ReportOptions, generated_on: date | None = None
) -> tuple[TrustReport, dict[str, str]]:
    """The report and each chart's data URI."""
    from sendflow.reports import charts  # matplotlib (~1-2 s to import): only when a report is drawn

    report = trust_report(
        data, options.suppression_threshold, options.la_distance_pct_points, generated_on or date.today()
    )
    images = {chart.key: charts.data_uri(charts.render(chart, report.table(chart.table))) for chart in report.charts}
    return report, images


def write_trust_report(
    warehouse: Warehouse, trust_id: str, academic_year: str | None, out_dir: Path, options: ReportOptions
) -> ReportFiles:
    """Write the trust's report for the year (default: its latest with a census) under `out_dir`.
    Raises ReportError when the trust is unknown or nothing is loaded for it."""
    data = load_trust_data(warehouse, trust_id.strip(), academic_year, options.max_membership_age_months)
    return _write_report(data, Path(out_dir), options)


def _write_report(data: TrustData, out_dir: Path, options: ReportOptions) -> ReportFiles:
    report, images = render_report(data, options)
    return write_rendered(report, images, data.sources, out_dir)


def write_rendered(report: TrustReport, images: dict[str, str], sources: pl.DataFrame, out_dir: Path) -> ReportFiles:
    """The page, its CSVs and its XLSX, from `render_report`. Each file is written to a temporary name of this
    writer's own and renamed into place (core.files): readers (a browser, the Prefect artifact's link) never see
    half a file, and two processes writing one report at once (--all-trusts beside refresh-marts) leave the
    last whole one."""
    stem = report_stem(report.trust_id, report.academic_year)
    csvs = []
    for table in report.tables:
        path = out_dir / f"{stem}-tables" / f"{table.key}.csv"
        atomic_write_bytes(path, exports.csv_text(table).encode("utf-8"))
        csvs.append(path)
    xlsx = out_dir / f"{stem}.xlsx"
    notes = [
        ("trust", f"{report.trust_name} ({report.trust_id})"),
        ("academic year", report.academic_year),
        ("generated", report.generated_on.isoformat()),
        ("disclosure control", report.disclosure_rule),
    ]
    if report.synthetic_note:
        notes.append(("synthetic pupil data", report.synthetic_note))
    atomic_write_with(xlsx, lambda temporary: exports.write_xlsx(report.tables, temporary, notes))
    downloads = [(f"All tables (XLSX): {xlsx.name}", xlsx.name)]
    downloads += [(f"{table.title} (CSV)", f"{stem}-tables/{table.key}.csv") for table in report.tables]
    page = html.page(report, images, downloads, sources)
    html_path = out_dir / f"{stem}.html"
    atomic_write_bytes(html_path, page.encode("utf-8"))
    return ReportFiles(html_path, tuple(csvs), xlsx)


def write_trust_reports(
    warehouse: Warehouse,
    trust_ids: Sequence[str],
    academic_year: str | None,
    reports_dir: Path,
    options: ReportOptions,
    years: pl.DataFrame | None = None,
) -> list[TrustOutcome]:
    """Each trust's report in its own folder under `reports_dir` (`trust_report_dir`), in the order given (once).

    Many trusts are shared among `options.workers` processes (0: one per CPU): a report is mostly
    matplotlib drawing, which holds the GIL, so threads would not help. Workers are spawned, not forked: the
    caller may be a Prefect flow with threads running."""
    trust_ids = list(dict.fromkeys(trust_id.strip() for trust_id in trust_ids))
    # Read once for all (or given by a caller that has): each report places its trust among every trust of its year.
    if years is None:
        years = read_trust_years(warehouse, options.max_membership_age_months)
    one = partial(_write_in_folder, warehouse.url, academic_year, Path(reports_dir), options, years)
    processes = min(options.workers or os.cpu_count() or 1, len(trust_ids) // MIN_TRUSTS_PER_PROCESS)
    if processes <= 1:
        return [one(trust_id) for trust_id in trust_ids]
    chunk = max(1, len(trust_ids) // (processes * 4))  # small enough that one slow trust does not hold the tail
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=spawn) as pool:
        return list(pool.map(one, trust_ids, chunksize=chunk))


def _write_in_folder(
    warehouse_url: str,
    academic_year: str | None,
    reports_dir: Path,
    options: ReportOptions,
    years: pl.DataFrame,
    trust_id: str,
) -> TrustOutcome:
    try:
        data = load_trust_data(
            Warehouse(warehouse_url), trust_id, academic_year, options.max_membership_age_months, years
        )
    except ReportError as error:
        return TrustOutcome(trust_id, None, skipped=str(error))
    files = _write_report(data, trust_report_dir(reports_dir, trust_id), options)
    return TrustOutcome(trust_id, files, data.academic_year)


def write_all_trust_reports(
    warehouse: Warehouse, academic_year: str | None, out_dir: Path, options: ReportOptions
) -> AllReports:
    """One report per trust with a reported year (for the year, if given), single-academy trusts excepted
    (listed, reported on request with --trust), and an index page of every trust: linked, searchable,
    sortable, with each year left out and why."""
    every_year = read_trust_years(warehouse, options.max_membership_age_months)
    years = every_year
    if academic_year:
        years = years.filter(pl.col("academic_year") == normalise_academic_year(academic_year))
    reported = years.filter(pl.col("left_out_reason").is_null())
    on_request = reported.filter(pl.col("trust_type") == TrustType.SINGLE_ACADEMY.value)["trust_id"].unique().to_list()
    trust_ids = sorted(set(reported["trust_id"].to_list()) - set(on_request))
    outcomes = write_trust_reports(warehouse, trust_ids, academic_year, out_dir, options, every_year)
    written = {o.trust_id: o for o in outcomes if o.files is not None}
    hrefs = {
        trust_id: o.files.html.relative_to(out_dir).as_posix() for trust_id, o in written.items() if o.files is not None
    }
    index = Path(out_dir) / "index.html"
    entries = index_entries(years, {t: o.academic_year for t, o in written.items()}, hrefs)
    atomic_write_bytes(index, html.index_page(entries, date.today(), options.max_membership_age_months).encode("utf-8"))
    skipped = tuple((o.trust_id, o.skipped) for o in outcomes if o.skipped is not None)
    return AllReports(index, tuple(o.files for o in written.values() if o.files is not None), skipped)


def index_entries(
    years: pl.DataFrame, report_years: dict[str, str | None], hrefs: dict[str, str]
) -> list[dict[str, object]]:
    """The index's rows: each trust once, at the year of its report (else its latest reported year, else its
    latest year, left out with the reason), sorted by name."""
    latest_reported = (
        years.filter(pl.col("left_out_reason").is_null()).group_by("trust_id").agg(pl.col("academic_year").max())
    )
    latest_any = years.group_by("trust_id").agg(pl.col("academic_year").max().alias("latest"))
    chosen = latest_any.join(latest_reported, on="trust_id", how="left").select(
        "trust_id",
        pl.col("trust_id")
        .replace_strict(report_years, default=None, return_dtype=pl.String)
        .fill_null(pl.col("academic_year"))
        .fill_null(pl.col("latest"))
        .alias("academic_year"),
    )
    rows = years.join(chosen, on=["trust_id", "academic_year"], how="inner")
    left_out = (
        years.filter(pl.col("left_out_reason").is_not_null())
        .group_by("trust_id")
        .agg(pl.format("{}: {}", "academic_year", "left_out_reason").sort().str.join("; ").alias("years_left_out"))
    )
    entries = [
        {**row, "href": hrefs.get(str(row["trust_id"]))}
        for row in rows.join(left_out, on="trust_id", how="left").iter_rows(named=True)
    ]
    entries.sort(key=lambda e: (str(e["trust_name"] or ""), str(e["trust_id"])))
    return entries
