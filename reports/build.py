"""Read a trust's figures from the warehouse, and write its report: one HTML page, a CSV per table, one XLSX.

The warehouse is read only through `warehouse.ledger.query` (one library per SQLite file; see
warehouse/connection.py). SQL values come from validated codes and years or are bound as parameters.

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
import secrets
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

import polars as pl

from flows.settings import Settings
from reports import charts, exports, html
from reports.tables import TrustData, TrustReport, trust_report
from transforms.common import normalise_academic_year
from transforms.school_census import NEED_CODES
from warehouse.connection import Warehouse
from warehouse.ledger import query

# The bundled group-links file of `make demo`: its schools are real, their trust is invented (ATTRIBUTION.md).
DEMO_MEMBERSHIP_FILE = "demo_trust_allgroupslinksdata20240901.csv"
DEMO_TRUST_ID = "900001"
DEMO_NOTE = (
    "this trust and its membership are invented for the sendflow demo. The schools are real and their figures "
    "are DfE's as published, but they do not form a trust; the pupil-level returns are synthetic."
)
TERM_PREFERENCE = ("spring", "summer", "autumn")  # spring first: only January is published to compare with
_SAFE = re.compile(r"[^A-Za-z0-9_-]")
# v_la_census_summary's columns, for a trust whose census rows name no LA (validation makes that rare).
LA_CENSUS_SCHEMA = {
    "la_code": pl.String, "la_name": pl.String, "academic_year": pl.String, "schools": pl.Int64,
    "total_pupils": pl.Int64, "ehc_plan": pl.Int64, "sen_support": pl.Int64, "ehc_plan_pct": pl.Float64,
    "sen_support_pct": pl.Float64,
}  # fmt: skip
_NEED_COLUMNS = [f"{kind}_primary_need_{code}" for kind in ("ehc", "sen_support") for code in NEED_CODES]
# A report process costs ~1.3 s to start (imports) and a report ~1 s: fewer trusts each are quicker in one.
MIN_TRUSTS_PER_PROCESS = 2


class ReportError(ValueError):
    """The trust is unknown, or nothing is loaded for it (for the year asked)."""


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


def _in(warehouse: Warehouse, values: Sequence[object]) -> str:
    return f"({warehouse.params(len(values))})"


def _valid_at(alias: str, day: str) -> str:
    return f"{alias}.valid_from <= {day} AND ({alias}.valid_to IS NULL OR {alias}.valid_to > {day})"


# ----------------------------------------------------------------------------------------------- reading


def reportable_years(warehouse: Warehouse, trust_id: str) -> list[str]:
    frame = query(
        warehouse,
        f"SELECT DISTINCT academic_year FROM v_trust_send_summary WHERE trust_id = {warehouse.param()} "
        "ORDER BY academic_year",
        [trust_id],
    )
    return [str(y) for y in frame["academic_year"].to_list()] if frame.height else []


def load_trust_data(warehouse: Warehouse, trust_id: str, academic_year: str | None = None) -> TrustData:
    """Everything the report shows for the trust and year (default: its latest year with a census)."""
    trust = query(warehouse, f"SELECT * FROM dim_trust WHERE trust_id = {warehouse.param()}", [trust_id])
    if trust.is_empty():
        raise ReportError(f"unknown trust {trust_id!r}: no such trust_id in dim_trust (a GIAS Group UID)")
    years = reportable_years(warehouse, trust_id)
    if not years:
        raise ReportError(
            f"nothing is loaded for trust {trust_id}: none of its schools has a school census row while a member "
            "(load the census years and a register or group links covering them)"
        )
    year = normalise_academic_year(academic_year) if academic_year else years[-1]
    if year not in years:
        raise ReportError(
            f"nothing is loaded for trust {trust_id} in {year}; years with its schools: {', '.join(years)}"
        )
    row = trust.row(0, named=True)
    members = _members(warehouse, trust_id, year)
    in_year = members.filter(pl.col("academic_year") == year)
    la_codes = sorted(in_year["la_code"].drop_nulls().unique().to_list())
    all_las = sorted(members["la_code"].drop_nulls().unique().to_list())
    all_years = sorted(members["academic_year"].unique().to_list())
    la_census = query(
        warehouse,
        f"SELECT * FROM v_la_census_summary WHERE la_code IN {_in(warehouse, all_las)} "
        f"AND academic_year IN {_in(warehouse, all_years)}",
        [*all_las, *all_years],
    ) if all_las else pl.DataFrame(schema=LA_CENSUS_SCHEMA)  # fmt: skip
    national = query(
        warehouse,
        f"SELECT * FROM v_national_census_summary WHERE academic_year IN {_in(warehouse, all_years)}",
        all_years,
    )
    funding = (
        query(
            warehouse,
            f"SELECT * FROM v_la_send_funding_gap WHERE la_code IN {_in(warehouse, la_codes)} ORDER BY la_code, "
            "financial_year",
            la_codes,
        )
        if la_codes
        else pl.DataFrame()
    )
    term = _pupil_term(warehouse, trust_id, year)
    pupil_counts = reconciliation = None
    if term is not None:
        pupil_counts = _pupil_counts(warehouse, trust_id, year, term)
        reconciliation = _reconciliation(warehouse, trust_id, year, term)
    return TrustData(
        trust_id=trust_id,
        trust_name=row["trust_name"],
        trust_ref=row["trust_ref"],
        trust_type=row["trust_type"],
        academic_year=year,
        members=members,
        la_census=la_census,
        national=national,
        funding=funding,
        pupil_counts=pupil_counts,
        pupil_term=term,
        reconciliation=reconciliation,
        sources=_sources(warehouse, trust_id, members, la_codes, year, term),
        demo_note=DEMO_NOTE if _is_demo(warehouse, trust_id) else None,
    )


def _members(warehouse: Warehouse, trust_id: str, year: str) -> pl.DataFrame:
    """The trust's schools on each census day up to `year` (dim_school's version valid that day)."""
    p = warehouse.param()
    needs = ", ".join(f"c.{c}" for c in _NEED_COLUMNS)
    frame = query(
        warehouse,
        f"""
        SELECT c.urn, c.academic_year, c.la_code, la.la_name, d.school_name, c.school_type,
               c.total_pupils, c.total_pupils_status, c.ehc_plan, c.ehc_plan_status, c.sen_support,
               c.sen_support_status, c.ehc_plan_pct, c.sen_support_pct, {needs}, c.load_id
        FROM fct_school_census c
        JOIN dim_school d ON d.urn = c.urn AND {_valid_at("d", "c.census_date")}
        LEFT JOIN dim_local_authority la ON la.la_code = c.la_code
        WHERE d.trust_id = {p} AND c.academic_year <= {p}
        ORDER BY c.academic_year, c.la_code, c.urn
        """,
        [trust_id, year],
    )
    counts = ["total_pupils", "ehc_plan", "sen_support", *_NEED_COLUMNS]
    return frame.with_columns(
        pl.col(counts).cast(pl.Int64),
        pl.col("ehc_plan_pct", "sen_support_pct").cast(pl.Float64),
        pl.col("academic_year", "urn", "la_code").cast(pl.String),
    )


def _pupil_term(warehouse: Warehouse, trust_id: str, year: str) -> str | None:
    p = warehouse.param()
    terms = query(
        warehouse,
        f"""
        SELECT DISTINCT pc.census_term FROM fct_pupil_census pc
        JOIN dim_school d ON d.urn = pc.urn AND {_valid_at("d", "pc.census_date")}
        WHERE d.trust_id = {p} AND pc.academic_year = {p}
        """,
        [trust_id, year],
    )
    loaded = set(terms["census_term"].to_list()) if terms.height else set()
    return next((term for term in TERM_PREFERENCE if term in loaded), None)


def _pupil_counts(warehouse: Warehouse, trust_id: str, year: str, term: str) -> pl.DataFrame:
    # Pupils on roll (single and main registrations), as v_census_reconciliation counts them.
    p = warehouse.param()
    frame = query(
        warehouse,
        f"""
        SELECT pc.urn, pc.nc_year, pc.primary_need, pc.sen_provision, COUNT(*) AS pupils
        FROM fct_pupil_census pc
        JOIN dim_school d ON d.urn = pc.urn AND {_valid_at("d", "pc.census_date")}
        WHERE d.trust_id = {p} AND pc.academic_year = {p} AND pc.census_term = {p}
          AND (pc.enrol_status IS NULL OR pc.enrol_status IN ('C', 'M'))
        GROUP BY pc.urn, pc.nc_year, pc.primary_need, pc.sen_provision
        """,
        [trust_id, year, term],
    )
    return frame.with_columns(pl.col("pupils").cast(pl.Int64))


def _reconciliation(warehouse: Warehouse, trust_id: str, year: str, term: str) -> pl.DataFrame:
    p = warehouse.param()
    return query(
        warehouse,
        f"""
        SELECT d.school_name, r.*
        FROM v_census_reconciliation r
        JOIN (SELECT urn, MIN(census_date) AS census_date FROM fct_pupil_census
              WHERE academic_year = {p} AND census_term = {p} GROUP BY urn) pc ON pc.urn = r.urn
        JOIN dim_school d ON d.urn = r.urn AND {_valid_at("d", "pc.census_date")}
        WHERE d.trust_id = {p} AND r.academic_year = {p} AND r.census_term = {p}
        """,
        [year, term, trust_id, year, term],
    )


def _is_demo(warehouse: Warehouse, trust_id: str) -> bool:
    p = warehouse.param()
    frame = query(
        warehouse,
        f"SELECT DISTINCT e.source_name FROM trust_membership_snapshot s JOIN etl_load e ON e.load_id = s.load_id "
        f"WHERE s.group_uid = {p}",
        [trust_id],
    )
    return frame.height > 0 and DEMO_MEMBERSHIP_FILE in frame["source_name"].to_list()


def _sources(
    warehouse: Warehouse, trust_id: str, members: pl.DataFrame, la_codes: list[str], year: str, term: str | None
) -> pl.DataFrame:
    """The etl_load rows whose rows the report shows or compares with."""
    p = warehouse.param()
    years = sorted(members["academic_year"].unique().to_list())
    urns = sorted(members["urn"].unique().to_list())
    parts = [
        (f"SELECT DISTINCT load_id FROM fct_school_census WHERE academic_year IN {_in(warehouse, years)}", years),
        (f"SELECT DISTINCT load_id FROM trust_membership_snapshot WHERE group_uid = {p}", [trust_id]),
        (f"SELECT DISTINCT load_id FROM school_register_snapshot WHERE urn IN {_in(warehouse, urns)}", urns),
    ]
    if la_codes:
        las = _in(warehouse, la_codes)
        parts += [
            (
                f"SELECT DISTINCT load_id FROM fct_la_dsg_allocation WHERE block = 'high_needs' AND la_code IN {las}",
                la_codes,
            ),
            (
                f"SELECT DISTINCT load_id FROM fct_la_ehcp WHERE measure = 'caseload' AND breakdown = 'total' "
                f"AND la_code IN {las}",
                la_codes,
            ),
            (
                f"SELECT DISTINCT load_id FROM fct_la_high_needs_spend WHERE kind = 'outturn' AND la_code IN {las}",
                la_codes,
            ),
        ]
    if term is not None:
        parts.append(
            (
                f"SELECT DISTINCT load_id FROM fct_pupil_census WHERE academic_year = {p} AND census_term = {p} "
                f"AND urn IN {_in(warehouse, urns)}",
                [year, term, *urns],
            )
        )
    load_ids: set[int] = set()
    for sql, parameters in parts:
        frame = query(warehouse, sql, parameters)
        load_ids |= {int(v) for v in frame["load_id"].drop_nulls().to_list()} if frame.height else set()
    if not load_ids:
        return pl.DataFrame()
    ids = sorted(load_ids)
    return query(
        warehouse,
        f"SELECT load_id, dataset, source_name, finished_at FROM etl_load WHERE load_id IN {_in(warehouse, ids)} "
        "ORDER BY dataset, load_id",
        ids,
    )


# ----------------------------------------------------------------------------------------------- writing


def report_stem(trust_id: str, academic_year: str) -> str:
    return f"trust-{_SAFE.sub('_', trust_id)}-{academic_year.replace('/', '-')}"


def trust_report_dir(reports_dir: Path, trust_id: str) -> Path:
    """A trust's folder among many (flows/marts.py keeps the reports found in these current)."""
    return Path(reports_dir) / f"trust-{_SAFE.sub('_', trust_id)}"


def _being_written(path: Path) -> Path:
    """A temporary name of each writer's own: two processes may write the same report at once (--all-trusts
    beside refresh-marts), and then the last rename wins with a whole file."""
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")


def _atomic_write(path: Path, content: bytes) -> None:
    """Readers (a browser, the Prefect artifact's link) never see half a file while a report is rewritten."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _being_written(path)
    try:
        temporary.write_bytes(content)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def render_report(
    data: TrustData, settings: Settings, generated_on: date | None = None
) -> tuple[TrustReport, dict[str, str]]:
    """The report and each chart's data URI."""
    report = trust_report(
        data,
        settings.report_suppression_threshold,
        settings.report_la_distance_pct_points,
        generated_on or date.today(),
    )
    images = {chart.key: charts.data_uri(charts.render(chart, report.table(chart.table))) for chart in report.charts}
    return report, images


def write_trust_report(
    warehouse: Warehouse, trust_id: str, academic_year: str | None, out_dir: Path, settings: Settings
) -> ReportFiles:
    """Write the trust's report for the year (default: its latest with a census) under `out_dir`.
    Raises ReportError when the trust is unknown or nothing is loaded for it."""
    return _write_report(load_trust_data(warehouse, trust_id.strip(), academic_year), Path(out_dir), settings)


def _write_report(data: TrustData, out_dir: Path, settings: Settings) -> ReportFiles:
    report, images = render_report(data, settings)
    return write_rendered(report, images, data.sources, out_dir)


def write_rendered(report: TrustReport, images: dict[str, str], sources: pl.DataFrame, out_dir: Path) -> ReportFiles:
    """The page, its CSVs and its XLSX, from `render_report`."""
    stem = report_stem(report.trust_id, report.academic_year)
    csvs = []
    for table in report.tables:
        path = out_dir / f"{stem}-tables" / f"{table.key}.csv"
        _atomic_write(path, exports.csv_text(table).encode("utf-8"))
        csvs.append(path)
    xlsx = out_dir / f"{stem}.xlsx"
    notes = [
        ("trust", f"{report.trust_name} ({report.trust_id})"),
        ("academic year", report.academic_year),
        ("generated", report.generated_on.isoformat()),
        ("disclosure control", report.disclosure_rule),
    ]
    if report.demo_note:
        notes.append(("demo", report.demo_note))
    temporary = _being_written(xlsx)
    try:
        exports.write_xlsx(report.tables, temporary, notes)
        os.replace(temporary, xlsx)
    finally:
        temporary.unlink(missing_ok=True)
    downloads = [(f"All tables (XLSX): {xlsx.name}", xlsx.name)]
    downloads += [(f"{table.title} (CSV)", f"{stem}-tables/{table.key}.csv") for table in report.tables]
    page = html.page(report, images, downloads, sources)
    html_path = out_dir / f"{stem}.html"
    _atomic_write(html_path, page.encode("utf-8"))
    return ReportFiles(html_path, tuple(csvs), xlsx)


def reportable_trusts(warehouse: Warehouse, academic_year: str | None = None) -> list[str]:
    """Trusts with at least one school in a loaded census (in that year, if given)."""
    where = f"WHERE academic_year = {warehouse.param()}" if academic_year else ""
    frame = query(
        warehouse,
        f"SELECT DISTINCT trust_id FROM v_trust_send_summary {where} ORDER BY trust_id",
        [normalise_academic_year(academic_year)] if academic_year else [],
    )
    return [str(t) for t in frame["trust_id"].to_list()] if frame.height else []


def write_trust_reports(
    warehouse: Warehouse, trust_ids: Sequence[str], academic_year: str | None, reports_dir: Path, settings: Settings
) -> list[TrustOutcome]:
    """Each trust's report in its own folder under `reports_dir` (`trust_report_dir`), in the order given (once).

    Many trusts are shared among `settings.report_workers` processes (0: one per CPU): a report is mostly
    matplotlib drawing, which holds the GIL, so threads would not help. Workers are spawned, not forked: the
    caller may be a Prefect flow with threads running."""
    trust_ids = list(dict.fromkeys(trust_id.strip() for trust_id in trust_ids))
    one = partial(_write_in_folder, warehouse.url, academic_year, Path(reports_dir), settings)
    processes = min(settings.report_workers or os.cpu_count() or 1, len(trust_ids) // MIN_TRUSTS_PER_PROCESS)
    if processes <= 1:
        return [one(trust_id) for trust_id in trust_ids]
    chunk = max(1, len(trust_ids) // (processes * 4))  # small enough that one slow trust does not hold the tail
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, mp_context=spawn) as pool:
        return list(pool.map(one, trust_ids, chunksize=chunk))


def _write_in_folder(
    warehouse_url: str, academic_year: str | None, reports_dir: Path, settings: Settings, trust_id: str
) -> TrustOutcome:
    try:
        data = load_trust_data(Warehouse(warehouse_url), trust_id, academic_year)
    except ReportError as error:
        return TrustOutcome(trust_id, None, skipped=str(error))
    files = _write_report(data, trust_report_dir(reports_dir, trust_id), settings)
    return TrustOutcome(trust_id, files, data.academic_year)


def write_all_trust_reports(
    warehouse: Warehouse, academic_year: str | None, out_dir: Path, settings: Settings
) -> AllReports:
    """One report per trust with a census loaded (for the year, if given) and an index page linking them."""
    summary = query(warehouse, "SELECT * FROM v_trust_send_summary ORDER BY trust_id, academic_year")
    trust_ids = reportable_trusts(warehouse, academic_year)
    outcomes = write_trust_reports(warehouse, trust_ids, academic_year, out_dir, settings)
    written = [o for o in outcomes if o.files is not None]
    entries = []
    for outcome in written:
        mine = (pl.col("trust_id") == outcome.trust_id) & (pl.col("academic_year") == outcome.academic_year)
        href = outcome.files.html.relative_to(out_dir).as_posix()
        entries.append({**summary.filter(mine).row(0, named=True), "href": href})
    entries.sort(key=lambda e: (str(e["trust_name"] or ""), str(e["trust_id"])))
    index = Path(out_dir) / "index.html"
    _atomic_write(index, html.index_page(entries, date.today()).encode("utf-8"))
    skipped = tuple((o.trust_id, o.skipped) for o in outcomes if o.skipped is not None)
    return AllReports(index, tuple(o.files for o in written), skipped)


# ----------------------------------------------------------------------------------------------- refresh


_DATASETS = ("school_census", "pupil_census", "school_register", "trust_membership", "school_links",
             "dsg_allocation", "la_high_needs_spend", "la_ehcp")  # fmt: skip
_ACADEMIC_YEAR = re.compile(r"\b(\d{4}/\d{2})\b")
_FINANCIAL_YEAR = re.compile(r"\b(\d{4}-\d{2})\b(?!-)")
_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
_PUPIL = re.compile(r"^(\d{4}/\d{2})/(autumn|spring|summer)(?:/(\d{6,}))?")
_SPEND = re.compile(r"^(\d{4}-\d{2})(?:/(budget|outturn))?\b")
_RELEASE = re.compile(r"^(\d{4})(?:/([a-z0-9_]+))?")
# A load replacing more than 12 partitions names them by their first keys and a count ("2023-24 (2 kinds)",
# or for a single key only " (13 snapshot_dates)": see flows/pipeline.py _partition_names).
_COUNTED = re.compile(r"\(\d+ \w+\)")


def _literals(values: Sequence[str]) -> str:
    # Only values that matched the strict patterns above reach here: digits, '-', '/' and lower-case words.
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _parsed(pattern: re.Pattern[str], partitions: Sequence[str], what: str) -> list[str]:
    found = []
    for partition in partitions:
        match = pattern.search(partition)
        if match is None:
            raise ValueError(f"cannot read {what} from partition {partition!r}")
        found.append(match.group(1))
    return sorted(set(found))


def trusts_affected_by(warehouse: Warehouse, dataset: str, partitions: Sequence[str]) -> list[str]:
    """Trusts whose report a load of `dataset` replacing `partitions` (as in the sendflow.dataset.loaded event)
    may change, limited to trusts with a report to write. Raises ValueError for an unknown dataset or a
    partition it cannot read."""
    partitions = [str(p) for p in partitions]
    if not partitions:
        return []
    if dataset not in _DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}")
    if any(_COUNTED.fullmatch(p.strip()) for p in partitions):
        return reportable_trusts(warehouse)  # which partitions is lost: every report may have changed
    if dataset == "school_census":
        years = _literals(_parsed(_ACADEMIC_YEAR, partitions, "an academic year"))
        sql = f"SELECT DISTINCT trust_id FROM v_trust_send_summary WHERE academic_year IN {years}"
    elif dataset == "pupil_census":
        clauses = []
        for partition in partitions:
            match = _PUPIL.search(partition)
            if match is None:
                raise ValueError(f"cannot read a year and term from partition {partition!r}")
            year, term, urn = match.groups()
            clause = f"(academic_year = '{year}' AND census_term = '{term}'" + (f" AND urn = '{urn}')" if urn else ")")
            clauses.append(clause)
        sql = (
            "SELECT DISTINCT d.trust_id FROM (SELECT DISTINCT urn, census_date FROM fct_pupil_census WHERE "
            f"{' OR '.join(clauses)}) p JOIN dim_school d ON d.urn = p.urn AND {_valid_at('d', 'p.census_date')}"
        )
    elif dataset in ("school_register", "trust_membership", "school_links"):
        dates = _literals(_parsed(_DATE, partitions, "a snapshot date"))
        table, urn_sql = {
            "school_register": ("school_register_snapshot", "urn"),
            "trust_membership": ("trust_membership_snapshot", "urn"),
            "school_links": ("school_link", "urn"),
        }[dataset]
        urns = f"SELECT {urn_sql} FROM {table} WHERE snapshot_date IN {dates}"
        if dataset == "school_links":
            urns += f" UNION SELECT link_urn FROM school_link WHERE snapshot_date IN {dates}"
        # Every trust those schools ever belonged to: a new extract can end one membership and start another.
        sql = f"SELECT DISTINCT trust_id FROM dim_school WHERE urn IN ({urns})"
        if dataset == "trust_membership":
            sql += f" UNION SELECT group_uid FROM trust_membership_snapshot WHERE snapshot_date IN {dates}"
    else:
        sql = _trusts_in_las(_la_codes_sql(dataset, partitions))
    affected = query(warehouse, sql)
    reportable = set(reportable_trusts(warehouse))
    ids = {str(v) for v in affected[affected.columns[0]].drop_nulls().to_list()} if affected.height else set()
    return sorted(ids & reportable)


def _la_codes_sql(dataset: str, partitions: Sequence[str]) -> str:
    if dataset == "dsg_allocation":
        years = _literals(_parsed(_FINANCIAL_YEAR, partitions, "a financial year"))
        return f"SELECT la_code FROM fct_la_dsg_allocation WHERE financial_year IN {years}"
    if dataset == "la_high_needs_spend":
        clauses = []
        for partition in partitions:
            match = _SPEND.search(partition)
            if match is None:
                raise ValueError(f"cannot read a financial year from partition {partition!r}")
            # A kind may be missing ("2023-24 (2 kinds)"): then every kind of that year.
            kind = f" AND kind = '{match.group(2)}'" if match.group(2) else ""
            clauses.append(f"(financial_year = '{match.group(1)}'{kind})")
        return f"SELECT la_code FROM fct_la_high_needs_spend WHERE {' OR '.join(clauses)}"
    releases = []
    for partition in partitions:
        match = _RELEASE.search(partition)
        if match is None:
            raise ValueError(f"cannot read a release and file from partition {partition!r}")
        table = f" AND source_table = '{match.group(2)}'" if match.group(2) else ""  # "2025 (14 source_tables)"
        releases.append(f"(release = {int(match.group(1))}{table})")
    return f"SELECT la_code FROM la_ehcp_observation WHERE {' OR '.join(releases)}"


def _trusts_in_las(la_codes_sql: str) -> str:
    return (
        "SELECT DISTINCT d.trust_id FROM fct_school_census c "
        f"JOIN dim_school d ON d.urn = c.urn AND {_valid_at('d', 'c.census_date')} "
        f"WHERE d.trust_id IS NOT NULL AND c.la_code IN ({la_codes_sql})"
    )
