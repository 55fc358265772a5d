"""The `sendflow` command. Exit codes: 0 every file loaded or duplicate, 1 a file rejected or failed, 2 usage."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from sendflow.core.settings import Settings, get_settings
from sendflow.core.vocabulary import CensusTerm, LoadStatus
from sendflow.transforms.common import normalise_academic_year

EXIT_OK, EXIT_FILE_PROBLEM, EXIT_USAGE = 0, 1, 2


def _academic_year(text: str) -> str:
    try:
        return normalise_academic_year(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sendflow", description="SEND data pipeline for English schools.")
    commands = parser.add_subparsers(dest="command", required=True)
    ingest = commands.add_parser("ingest", help="load files into the warehouse")
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ingest.add_argument("--academic-year", type=_academic_year, help="year of files that do not name it, e.g. 2023/24")
    status = commands.add_parser("status", help="recent loads from etl_load")
    status.add_argument("--limit", type=int, default=20)
    commands.add_parser("demo", help="run the pipeline on the bundled sample extracts")
    watch = commands.add_parser("watch", help="take settled files from the landing folder and load them")
    watch.add_argument("--once", action="store_true", help="stop when nothing is left to settle")
    watch.add_argument(
        "--mode", choices=["auto", "events", "inline"], default="auto",
        help="events: announce each file for a served ingest-extract; inline: load it here; "
        "auto (default): events when PREFECT_API_URL is set",
    )  # fmt: skip
    commands.add_parser("serve", help="Prefect server, every deployment and the watcher, until Ctrl-C")
    pull = commands.add_parser("pull", help="run a puller now (as its schedule would)")
    pull.add_argument("source", choices=["gias", "ees"])
    pull.add_argument("--day", help="GIAS: the extracts of this day (YYYY-MM-DD) instead of today's")
    db = commands.add_parser("db", help="warehouse schema and access")
    db_actions = db.add_subparsers(dest="action", required=True)
    db_actions.add_parser("upgrade", help="migrate to head, seed reference rows, create views")
    db_actions.add_parser("init", help="the same as upgrade")
    grant = db_actions.add_parser("grant-trust", help="a PostgreSQL login role that sees one trust's pupil rows")
    grant.add_argument("trust_id", metavar="TRUST_ID")
    grant.add_argument("role", metavar="ROLE")
    grant.add_argument("--password-env", metavar="VAR", help="set the role's password from this variable")
    purge = commands.add_parser("purge", help="delete raw pupil-level files older than a number of days")
    purge.add_argument("--pupil-level", action="store_true", required=True, help="raw pupil census files")
    purge.add_argument("--older-than", type=int, required=True, metavar="DAYS")
    synth = commands.add_parser("synth", help="write synthetic data").add_subparsers(dest="what", required=True)
    census = synth.add_parser("census", help="synthetic pupil-level census returns from the published census")
    chosen = census.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--urns", type=_urns, help="comma-separated URNs, e.g. 100000,100005")
    chosen.add_argument("--trust", metavar="ID", help="the schools of a trust (GIAS Group UID) on the census day")
    chosen.add_argument("--national", action="store_true", help="every school with a published census")
    census.add_argument("--academic-year", type=_academic_year, required=True, help="e.g. 2023/24")
    census.add_argument("--term", type=str.lower, choices=list(CensusTerm), default=CensusTerm.SPRING)
    census.add_argument("--format", dest="file_format", type=str.lower, choices=["csv", "xml"], default="csv")
    census.add_argument("--seed", type=int, default=0, help="same seed, same pupils (default 0)")
    census.add_argument("--out", type=Path, required=True, metavar="DIR")
    census.add_argument("--combined", action="store_true", help="one CSV for all selected schools")
    report = commands.add_parser("report", help="a trust's SEND report: one HTML page, its tables as CSV and XLSX")
    which = report.add_mutually_exclusive_group(required=True)
    which.add_argument("--trust", metavar="TRUST_ID", help="the trust (GIAS Group UID)")
    which.add_argument("--all-trusts", action="store_true", help="every trust with a census loaded, and an index")
    report.add_argument("--academic-year", type=_academic_year, help="default: the trust's latest census year")
    report.add_argument("--out", type=Path, required=True, metavar="DIR")
    return parser


def _urns(text: str) -> list[str]:
    urns = [u.strip() for u in text.split(",") if u.strip()]
    bad = [u for u in urns if not u.isdigit()]
    if not urns or bad:
        raise argparse.ArgumentTypeError(f"URNs are digits, comma-separated: {text!r}")
    return urns


def _synth_census(args: argparse.Namespace, settings: Settings) -> int:
    if args.combined and args.file_format != "csv":
        print("sendflow synth census: --combined writes one CSV; it cannot be used with --format xml", file=sys.stderr)
        return EXIT_USAGE
    from sendflow.synthetic.writers import SynthError, generate_census
    from sendflow.warehouse.connection import Warehouse
    from sendflow.warehouse.schema import ensure_schema

    warehouse = Warehouse(settings.warehouse_url)
    ensure_schema(warehouse)
    try:
        summary = generate_census(
            warehouse, urns=args.urns, trust_id=args.trust, national=args.national, academic_year=args.academic_year,
            term=args.term, file_format=args.file_format, seed=args.seed, out_dir=args.out, combined=args.combined,
        )  # fmt: skip
    except SynthError as error:
        print(f"sendflow synth census: {error}", file=sys.stderr)
        return EXIT_FILE_PROBLEM
    print("\n".join(summary.lines()))
    return EXIT_OK


def _report(args: argparse.Namespace, settings: Settings) -> int:
    from sendflow.reports.read import ReportError
    from sendflow.reports.write import write_all_trust_reports, write_trust_report
    from sendflow.warehouse.connection import Warehouse
    from sendflow.warehouse.schema import ensure_schema

    warehouse = Warehouse(settings.warehouse_url)
    ensure_schema(warehouse)
    if args.all_trusts:
        written = write_all_trust_reports(warehouse, args.academic_year, args.out, settings.report_options)
        for trust_id, why in written.skipped:
            print(f"sendflow report: skipped trust {trust_id}: {why}", file=sys.stderr)
        if not written.reports:
            year = f" in {args.academic_year}" if args.academic_year else ""
            print(f"sendflow report: no trust has a school census loaded{year}", file=sys.stderr)
            return EXIT_FILE_PROBLEM
        print(f"wrote {len(written.reports)} trust report(s); index: {written.index}")
        return EXIT_OK
    try:
        files = write_trust_report(warehouse, args.trust, args.academic_year, args.out, settings.report_options)
    except ReportError as error:
        print(f"sendflow report: {error}", file=sys.stderr)
        return EXIT_FILE_PROBLEM
    print(files.html)
    print(f"tables: {files.xlsx} and {len(files.csvs)} CSV file(s) in {files.csvs[0].parent}")
    return EXIT_OK


def _prepare_prefect(settings: Settings) -> None:
    """Keep Prefect's own state under the sendflow home and its chatter down; set before Prefect is imported."""
    settings.prefect_home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(settings.prefect_home))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", settings.prefect_log_level)
    os.environ.setdefault("PREFECT_LOGGING_SERVER_LEVEL", "WARNING")


def _ingest(paths: list[Path], academic_year: str | None, settings: Settings) -> int:
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"sendflow ingest: no such file: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    _prepare_prefect(settings)
    from sendflow.flows.ingest import with_task_runner

    outcomes = with_task_runner(settings)([str(p.resolve()) for p in paths], academic_year)
    for outcome in outcomes:
        print(outcome.line())
    pupil_loads = [
        o.load_id for o in outcomes if o.status == LoadStatus.LOADED and o.dataset == "pupil_census" and o.load_id
    ]
    if pupil_loads:
        from sendflow.loading.pupil_files import reconciliation_for_loads, reconciliation_text
        from sendflow.warehouse.connection import Warehouse

        print()
        print(reconciliation_text(reconciliation_for_loads(Warehouse(settings.warehouse_url), pupil_loads)))
    return EXIT_OK if all(o.ok for o in outcomes) else EXIT_FILE_PROBLEM


def _service_command(args: argparse.Namespace, settings: Settings) -> int:
    _prepare_prefect(settings)
    if args.command == "serve":
        from sendflow.flows.serve import run_service

        return run_service(settings)
    if args.command == "pull":
        from sendflow.flows.pull import pull_ees, pull_gias
        from sendflow.landing.download import PullError

        try:
            lines = pull_gias(args.day) if args.source == "gias" else pull_ees()
        except PullError as error:
            print(f"sendflow pull {args.source}: {error}", file=sys.stderr)
            return EXIT_FILE_PROBLEM
        print("\n".join(lines) or "nothing configured to pull")
        return EXIT_OK
    import signal
    import threading

    from sendflow.flows.watch import delivery_for, watch

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        watch(settings, delivery_for(args.mode), stop, once=args.once, report=lambda line: print(line, flush=True))
    return EXIT_OK


def _status(settings: Settings, limit: int) -> int:
    from sendflow.core.text import table
    from sendflow.warehouse.connection import Warehouse
    from sendflow.warehouse.ledger import recent_loads
    from sendflow.warehouse.schema import ensure_schema

    warehouse = Warehouse(settings.warehouse_url)
    ensure_schema(warehouse)
    loads = recent_loads(warehouse, limit)
    columns = ["load_id", "finished_at", "status", "dataset", "source_name", "partition_values",
               "rows_loaded", "rows_quarantined", "message"]  # fmt: skip
    rows = [
        [row["load_id"], row["finished_at"].strftime("%Y-%m-%d %H:%M:%S") if row["finished_at"] else None,
         *[row[c] for c in columns[2:-1]], (row["message"] or "")[:80]]
        for row in loads.iter_rows(named=True)
    ]  # fmt: skip
    print(f"Recent loads in {warehouse.describe()}:")
    print(
        table(
            ["load", "finished (UTC)", "status", "dataset", "file", "partitions", "loaded", "quarantined", "message"],
            rows,
        )
    )
    return EXIT_OK


def _db(args: argparse.Namespace, settings: Settings) -> int:
    from sendflow.warehouse.connection import Warehouse
    from sendflow.warehouse.schema import ensure_schema

    warehouse = Warehouse(settings.warehouse_url)
    ensure_schema(warehouse)
    if args.action in ("upgrade", "init"):
        print(f"schema is current in {warehouse.describe()}")
        return EXIT_OK
    from sendflow.warehouse.access import AccessError, grant_trust

    password = os.environ.get(args.password_env) if args.password_env else None
    try:
        readable = grant_trust(warehouse, args.trust_id, args.role, password)
    except AccessError as error:
        print(f"sendflow db grant-trust: {error}", file=sys.stderr)
        return EXIT_FILE_PROBLEM
    print(
        f"role {args.role} sees trust {args.trust_id}'s pupil rows only; it may read {len(readable)} tables and views"
    )
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    if args.command == "ingest":
        return _ingest(args.paths, args.academic_year, settings)
    if args.command == "status":
        return _status(settings, args.limit)
    if args.command == "demo":
        _prepare_prefect(settings)
        from sendflow.cli.demo import run_demo

        return run_demo(settings)
    if args.command == "db":
        return _db(args, settings)
    if args.command == "purge":
        from sendflow.loading.pupil_files import purge_pupil_files

        removed = purge_pupil_files(settings, args.older_than)
        print(f"purged {len(removed)} raw pupil-level file(s) older than {args.older_than} day(s)")
        for path in removed:
            print(f"  {path}")
        return EXIT_OK
    if args.command == "synth":
        return _synth_census(args, settings)
    if args.command in ("watch", "serve", "pull"):
        return _service_command(args, settings)
    if args.command == "report":
        return _report(args, settings)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
