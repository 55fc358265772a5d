"""The `sendflow` command. Exit codes: 0 every file loaded or duplicate, 1 a file rejected or failed, 2 usage."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sendflow.core.settings import Settings, get_settings
from sendflow.core.vocabulary import CensusTerm, LoadStatus, PullSource

if TYPE_CHECKING:
    from sendflow.loading.outcomes import FileOutcome
    from sendflow.warehouse.connection import PostgresAddress, Warehouse

EXIT_OK, EXIT_FILE_PROBLEM, EXIT_USAGE = 0, 1, 2


def _academic_year(text: str) -> str:
    try:
        from sendflow.transforms.common import normalise_academic_year  # Polars: not for `--help`

        return normalise_academic_year(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


PATH_HELP = (
    "a file to load (files, not folders), told by its bytes and header, never its name: a CSV (comma-separated, "
    "also as .txt), an XLSX or XLSM workbook, an old binary XLS, an ODS spreadsheet, or a school census XML return; "
    "pupil-level files need the pseudonymisation key (SENDFLOW_PUPIL_KEY or home/pupil.key)"
)
HOME_EPILOG = (
    "Every command works in one home folder: SENDFLOW_HOME if set, else the nearest var/ holding a sendflow home "
    "in the current folder or above it, else ./var. `sendflow COMMAND --help` describes each command."
)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sendflow")
    except PackageNotFoundError:  # run from a source tree never installed
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sendflow",
        description="SEND data pipeline for English schools: load DfE, ESFA and school files into a warehouse, "
        "checked and deduplicated, and report on them.",
        epilog=HOME_EPILOG,
    )
    parser.add_argument(
        "--version", action="version", version=f"sendflow {_version()}", help="print the version and exit"
    )
    commands = parser.add_subparsers(dest="command", required=True, title="commands", metavar="COMMAND",
                                     help="one of these; `sendflow COMMAND --help` for its options")  # fmt: skip
    ingest = commands.add_parser(
        "ingest", help="load files into the warehouse",
        description="Load files into the warehouse and print one line per file: loaded, duplicate (the same "
        "bytes were loaded before, under any name) or rejected with the reason. Exit 0 when every file loaded or "
        "was a duplicate, 1 when one was rejected or failed, 2 on a usage error.",
    )  # fmt: skip
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH", help=PATH_HELP)
    ingest.add_argument(
        "--academic-year", type=_academic_year, metavar="YEAR",
        help="the academic year (e.g. 2023/24) of files whose columns do not hold one and whose file or folder "
        "name does not say it (as england_census_2023-24.csv does); a file whose own columns name another year "
        "is rejected",
    )  # fmt: skip
    status = commands.add_parser(
        "status", help="recent loads from etl_load",
        description="The most recent loads in the warehouse's ledger (etl_load), newest first, fitted to the "
        "terminal. It only reads: where there is no warehouse it says how to make one and exits 1.",
    )  # fmt: skip
    status.add_argument("--limit", type=int, default=20, metavar="N", help="how many loads to show (default 20)")
    commands.add_parser(
        "demo", help="run the pipeline on the bundled sample extracts",
        description="Load the bundled sample extracts and synthetic pupil returns of a demo trust into the home's "
        "warehouse, print what they hold and write the trust's report; a second run changes nothing.",
    )  # fmt: skip
    watch = commands.add_parser(
        "watch", help="take settled files from the landing folder and load them",
        description="Watch the landing folder (SENDFLOW_LANDING_DIR) and take each file once it has settled; "
        "unsafe files are moved to landing/rejected/ with a reason. Runs until Ctrl-C unless --once.",
    )  # fmt: skip
    watch.add_argument("--once", action="store_true", help="stop when nothing is left to settle")
    watch.add_argument(
        "--mode", choices=["auto", "events", "inline"], default="auto",
        help="events: announce each file for a served ingest-extract; inline: load it here; "
        "auto (default): events when PREFECT_API_URL is set",
    )  # fmt: skip
    commands.add_parser(
        "serve", help="Prefect server, every deployment and the watcher, until Ctrl-C",
        description="Start a Prefect server for this home (SENDFLOW_SERVE_PORT), serve every deployment (the "
        "scheduled pullers, ingest-extract, refresh-marts) and the landing watcher, until Ctrl-C.",
    )  # fmt: skip
    pull = commands.add_parser(
        "pull", help="run a puller now (as its schedule would)",
        description="Download a source's newest files now, as its schedule would, and load what is new.",
    )  # fmt: skip
    pull.add_argument(
        "source", choices=["gias", "ees"],
        help="gias: the GIAS daily extracts (SENDFLOW_GIAS_FILES); ees: the EES data sets in SENDFLOW_EES_DATA_SETS",
    )  # fmt: skip
    pull.add_argument("--day", metavar="YYYY-MM-DD", help="GIAS: the extracts of this day instead of today's")
    db = commands.add_parser(
        "db", help="warehouse schema and access",
        description="The warehouse's schema (SENDFLOW_WAREHOUSE_URL, default home/warehouse.sqlite) and who may "
        "read it.",
    )  # fmt: skip
    db_actions = db.add_subparsers(dest="action", required=True, title="actions", metavar="ACTION",
                                   help="one of these; `sendflow db ACTION --help` for its options")  # fmt: skip
    for name, summary in (("upgrade", "migrate to head, seed reference rows, create views"),
                          ("init", "the same as upgrade")):  # fmt: skip
        upgrade = db_actions.add_parser(
            name, help=summary,
            description="Bring the warehouse to the current schema: Alembic migrations to head, then reference "
            "rows and views. A PostgreSQL database must exist first (or pass --create).",
        )  # fmt: skip
        upgrade.add_argument(
            "--create", action="store_true",
            help="PostgreSQL: create the database first when the server has none of that name",
        )  # fmt: skip
    grant = db_actions.add_parser(
        "grant-trust", help="a PostgreSQL login role that sees one trust's pupil rows",
        description="Create or update a PostgreSQL login role that reads the warehouse with row-level security: "
        "pupil rows of one trust's schools only.",
    )  # fmt: skip
    grant.add_argument("trust_id", metavar="TRUST_ID", help="the trust (GIAS Group UID)")
    grant.add_argument("role", metavar="ROLE", help="the login role to create or update")
    grant.add_argument("--password-env", metavar="VAR", help="set the role's password from this variable")
    purge = commands.add_parser(
        "purge", help="delete raw pupil-level files older than a number of days",
        description="Delete the raw copies of pupil-level files (lake/bronze and landing/rejected) first offered "
        "more than DAYS days ago; the pseudonymised rows in the warehouse stay.",
    )  # fmt: skip
    purge.add_argument("--pupil-level", action="store_true", required=True, help="raw pupil census files")
    purge.add_argument(
        "--older-than", type=int, required=True, metavar="DAYS", help="files first offered more than DAYS days ago"
    )
    purge.add_argument("--dry-run", action="store_true", help="list what would be deleted, and delete nothing")
    synth = commands.add_parser(
        "synth", help="write synthetic data", description="Write synthetic data shaped like the real thing."
    ).add_subparsers(dest="what", required=True, title="kinds", metavar="KIND", help="what to write")
    census = synth.add_parser(
        "census", help="synthetic pupil-level census returns from the published census",
        description="Synthetic pupil-level school census returns whose counts match the published school census "
        "of each selected school.",
    )  # fmt: skip
    chosen = census.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--urns", type=_urns, help="comma-separated URNs, e.g. 100000,100005")
    chosen.add_argument("--trust", metavar="ID", help="the schools of a trust (GIAS Group UID) on the census day")
    chosen.add_argument("--national", action="store_true", help="every school with a published census")
    census.add_argument("--academic-year", type=_academic_year, required=True, metavar="YEAR", help="e.g. 2023/24")
    census.add_argument("--term", type=str.lower, choices=list(CensusTerm), default=CensusTerm.SPRING,
                        help="the census term (default spring)")  # fmt: skip
    census.add_argument("--format", dest="file_format", type=str.lower, choices=["csv", "xml"], default="csv",
                        help="csv (default): the census CSV layout; xml: school census XML returns")  # fmt: skip
    census.add_argument("--seed", type=int, default=0, help="same seed, same pupils (default 0)")
    census.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write the returns to")
    census.add_argument("--combined", action="store_true", help="one CSV for all selected schools")
    report = commands.add_parser(
        "report", help="a trust's SEND report: one HTML page, its tables as CSV and XLSX",
        description="A trust's SEND report from the warehouse: one HTML page, and its tables as CSV and XLSX.",
    )  # fmt: skip
    which = report.add_mutually_exclusive_group(required=True)
    which.add_argument("--trust", metavar="TRUST_ID", help="the trust (GIAS Group UID)")
    which.add_argument("--all-trusts", action="store_true", help="every trust with a census loaded, and an index")
    report.add_argument("--academic-year", type=_academic_year, metavar="YEAR",
                        help="default: the trust's latest census year")  # fmt: skip
    report.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write the report to")
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

    warehouse = Warehouse(settings.warehouse_url)
    if not _readable(warehouse, settings, "synth census"):
        return EXIT_FILE_PROBLEM
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


def _readable(warehouse: Warehouse, settings: Settings, command: str) -> bool:
    """Readers read: a warehouse that is not there is said to be missing, never created (nor migrated)."""
    from sendflow.warehouse.connection import WarehouseUnavailable

    try:
        if not _ledger_missing(warehouse):
            return True
    except WarehouseUnavailable as error:
        print(f"sendflow {command}: {error}", file=sys.stderr)
        return False
    lines = _no_warehouse(warehouse, settings)
    print("\n".join([lines[0].replace("sendflow status", f"sendflow {command}"), *lines[1:]]), file=sys.stderr)
    return False


def _report(args: argparse.Namespace, settings: Settings) -> int:
    from sendflow.reports.read import ReportError
    from sendflow.reports.write import write_all_trust_reports, write_trust_report
    from sendflow.warehouse.connection import Warehouse

    warehouse = Warehouse(settings.warehouse_url)
    if not _readable(warehouse, settings, "report"):
        return EXIT_FILE_PROBLEM
    if args.all_trusts:
        written = write_all_trust_reports(warehouse, args.academic_year, args.out, settings.report_options)
        for trust_id, why in written.skipped:
            print(f"sendflow report: skipped trust {trust_id}: {why}", file=sys.stderr)
        if not written.reports:
            year = f" in {args.academic_year}" if args.academic_year else ""
            print(
                f"sendflow report: no trust has a school census loaded{year} with membership recent enough to report "
                f"(the index lists every trust and why its years are left out: {written.index})",
                file=sys.stderr,
            )
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


def _prefect_environment(settings: Settings) -> None:
    """Keep Prefect's own state under the sendflow home and its chatter down; set before Prefect is imported."""
    settings.prefect_home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(settings.prefect_home))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", settings.prefect_log_level)
    os.environ.setdefault("PREFECT_LOGGING_SERVER_LEVEL", "WARNING")


def _served(settings: Settings) -> bool:
    """True when this command's runs go to a Prefect server: the one at PREFECT_API_URL, or, with none set,
    the running `sendflow serve` of this home, whose server is lent (events are heard there, runs appear in
    its UI) with its file server (links open). False: the command runs here, in-process (cli/local.py)."""
    if os.environ.get("PREFECT_API_URL"):
        _prefect_environment(settings)
        return True
    from sendflow.core.serving import running_service

    service = running_service(settings.home)
    if service is None:
        return False
    _prefect_environment(settings)
    os.environ["PREFECT_API_URL"] = service.api_url
    os.environ.setdefault("SENDFLOW_FILES_URL", service.files_url)
    print(f"using the running sendflow serve of {settings.home} (Prefect API {service.api_url})", file=sys.stderr)
    return True


def ingest_runner(settings: Settings) -> Callable[[list[str], str | None], list[FileOutcome]]:
    """The `ingest-files` flow where a server records it; else the same run in this process. A Dask task
    runner is Prefect's, so it takes the flow either way (on a throwaway server when none is configured)."""
    from sendflow.cli.local import ingest_here, runs_here, say_not_recorded

    if _served(settings) or not runs_here(settings):
        _prefect_environment(settings)
        from sendflow.flows.ingest import with_task_runner

        flow = with_task_runner(settings)
        return lambda files, academic_year: flow(files, academic_year)
    say_not_recorded()
    return lambda files, academic_year: ingest_here(files, academic_year, settings)


def _ingest(paths: list[Path], academic_year: str | None, settings: Settings) -> int:
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"sendflow ingest: no such file: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    run = ingest_runner(settings)
    from sendflow.cli.progress import outcome_lines, showing_progress

    files = [str(p.resolve()) for p in paths]
    with showing_progress(files):  # on stderr: stdout keeps one result line per file, for other tools
        outcomes = run(files, academic_year)
    for line in outcome_lines(outcomes):
        print(line)
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
    if args.command == "serve":
        _prefect_environment(settings)
        from sendflow.flows.serve import run_service

        return run_service(settings)
    from sendflow.cli.local import say_not_recorded

    served = _served(settings)
    if args.command == "pull":
        from sendflow.landing.download import PullError

        try:  # with no server to hear of a new file, it is loaded here, never left in processing/
            if served:
                from sendflow.flows.pull import pull_ees, pull_gias

                lines = pull_gias(args.day) if args.source == PullSource.GIAS else pull_ees()
            else:
                from sendflow.cli.local import pull_here

                say_not_recorded()
                lines = pull_here(PullSource(args.source), date.fromisoformat(args.day) if args.day else None, settings)
        except PullError as error:
            print(f"sendflow pull {args.source}: {error}", file=sys.stderr)
            return EXIT_FILE_PROBLEM
        print("\n".join(lines) or "nothing configured to pull")
        return EXIT_OK
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    report: Callable[[str], None] = lambda line: print(line, flush=True)  # noqa: E731
    with contextlib.suppress(KeyboardInterrupt):
        if served or args.mode == "events":
            _prefect_environment(settings)
            from sendflow.flows.watch import delivery_for, watch

            watch(settings, delivery_for(args.mode), stop, once=args.once, report=report)
        else:
            from sendflow.cli.local import watch_here

            say_not_recorded()
            watch_here(settings, stop, once=args.once, report=report)
    return EXIT_OK


# Where the width of the terminal cannot be known (output piped or captured), status lines fit this.
STATUS_WIDTH = 100
ELLIPSIS = "…"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + ELLIPSIS


def _clip_middle(text: str, width: int) -> str:
    """A file name's start says what it is and its end its year and type: the middle goes first."""
    if len(text) <= width:
        return text
    tail = (width - 1) // 2
    return text[: width - 1 - tail] + ELLIPSIS + (text[-tail:] if tail else "")


def _ledger_missing(warehouse: Warehouse) -> bool:
    """Whether there is no ledger to read, found without creating anything: no file, no folder, no DDL.
    Raises WarehouseUnavailable (DatabaseMissing among them) when a PostgreSQL warehouse cannot be opened."""
    from sendflow.warehouse.recent import has_ledger

    return not has_ledger(warehouse)


def _createdb_hint(address: PostgresAddress, command: str) -> str:
    import shlex

    user = f" -U {shlex.quote(address.user)}" if address.user else ""
    return (
        f"create it with `sendflow {command} --create`, or `createdb -h {address.host} -p {address.port}{user} "
        f"{shlex.quote(address.database)}` then `sendflow {command}`"
    )


def _no_warehouse(warehouse: Warehouse, settings: Settings) -> list[str]:
    if warehouse.dialect == "sqlite":
        found = "SENDFLOW_HOME" if os.environ.get("SENDFLOW_HOME") else "no var/ of a sendflow home here or above"
        return [
            f"sendflow status: no warehouse at {warehouse.sqlite_path} (home {settings.home}: {found})",
            "make one with `make demo` (the samples), `sendflow ingest FILE` or `sendflow db upgrade` (empty); "
            "or run from the folder holding your var/, or set SENDFLOW_HOME",
        ]
    return [
        f"sendflow status: no warehouse tables (etl_load) in {warehouse.describe()}",
        "make them with `sendflow db upgrade`, then load files with `sendflow ingest FILE`",
    ]


def _status(settings: Settings, limit: int) -> int:
    """Recent loads, read only: where there is no warehouse, says so and how to make one, and creates nothing."""
    from sendflow.warehouse.connection import DatabaseMissing, Warehouse, WarehouseUnavailable
    from sendflow.warehouse.recent import recent_loads

    warehouse = Warehouse(settings.warehouse_url)
    try:
        missing = _ledger_missing(warehouse)
    except DatabaseMissing as error:
        print(f"sendflow status: no warehouse: {error}", file=sys.stderr)
        print(_createdb_hint(error.address, "db upgrade"), file=sys.stderr)
        return EXIT_FILE_PROBLEM
    except WarehouseUnavailable as error:
        print(f"sendflow status: {error}", file=sys.stderr)
        return EXIT_FILE_PROBLEM
    if missing:
        print("\n".join(_no_warehouse(warehouse, settings)), file=sys.stderr)
        return EXIT_FILE_PROBLEM
    loads = recent_loads(warehouse, limit)
    if not loads:
        print(f"No loads yet in {warehouse.describe()}: `sendflow ingest FILE` or `make demo` loads some.")
        return EXIT_OK
    width = shutil.get_terminal_size((STATUS_WIDTH, 24)).columns
    lines = [f"Recent loads in {warehouse.describe()} (times UTC):", *_load_lines(loads, width)]
    print("\n".join(_clip(line, width) for line in lines))
    return EXIT_OK


def _load_lines(loads: list[dict[str, Any]], width: int) -> list[str]:
    """One line per load, its file and what it loaded into shortened to fit `width`; beneath a load that did
    not load, its message (why it was a duplicate, rejected or failed)."""
    from sendflow.core.text import table

    headers = ["load", "finished", "status", "file", "into", "rows", "quarantined"]
    file_at, into_at = headers.index("file"), headers.index("into")
    this_year = datetime.now(UTC).year
    records = loads
    rows: list[list[object]] = [
        [r["load_id"], _finished(r["finished_at"], this_year), r["status"], r["source_name"] or "-",
         " ".join(str(part) for part in (r["dataset"], r["partition_values"]) if part) or "-",
         r["rows_loaded"], r["rows_quarantined"]]
        for r in records
    ]  # fmt: skip
    # The other columns keep their width: measure them by laying the table out without the two that give way.
    blank = [[*row[:file_at], "", "", *row[into_at + 1 :]] for row in rows]
    others = max(len(line) for line in table(headers, blank).splitlines()) - len("file") - len("into")
    room = max(width - others, len("file") + len("into"))
    file_natural = max(len(str(row[file_at])) for row in rows)
    into_natural = max(len(str(row[into_at])) for row in rows)
    # Neither starves the other: each has at least half the room it needs, the file what is left after that.
    into_width = min(into_natural, max(room - file_natural, room // 2))
    file_width = max(len("file"), min(file_natural, room - into_width))
    into_width = max(len("into"), min(into_natural, room - file_width))
    for row in rows:
        row[file_at] = _clip_middle(str(row[file_at]), file_width)
        row[into_at] = _clip(str(row[into_at]), into_width)
    header, rule, *body = table(headers, rows).splitlines()
    lines = [header, rule]
    for line, record in zip(body, records, strict=True):
        lines.append(line)
        if record["status"] != LoadStatus.LOADED and record["message"]:
            # Most messages start with the file's name, already on the line above: the reason gets the room.
            reason = str(record["message"]).removeprefix(f"{record['source_name']}: ")
            lines.append(_clip(f"      {reason}", width))
    return lines


def _finished(moment: datetime | None, this_year: int) -> str | None:
    """Short enough to leave the file its room: the day and time this year, the day and year before."""
    if moment is None:
        return None
    return moment.strftime("%d %b %H:%M" if moment.year == this_year else "%d %b %Y")


def _db(args: argparse.Namespace, settings: Settings) -> int:
    from sendflow.warehouse.connection import (
        DatabaseMissing,
        Warehouse,
        WarehouseUnavailable,
        check_reachable,
        create_database,
    )
    from sendflow.warehouse.schema import ensure_schema

    command = f"db {args.action}"
    warehouse = Warehouse(settings.warehouse_url)
    try:
        try:
            check_reachable(warehouse)
        except DatabaseMissing:
            if not getattr(args, "create", False):
                raise
            create_database(warehouse)
            print(f"created {warehouse.describe()}")
    except DatabaseMissing as error:
        print(f"sendflow {command}: {error}", file=sys.stderr)
        print(_createdb_hint(error.address, "db upgrade" if args.action == "grant-trust" else command), file=sys.stderr)
        return EXIT_FILE_PROBLEM
    except WarehouseUnavailable as error:
        print(f"sendflow {command}: {error}", file=sys.stderr)
        return EXIT_FILE_PROBLEM
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


def _purge(args: argparse.Namespace, settings: Settings) -> int:
    from sendflow.loading.pupil_files import purge_pupil_files
    from sendflow.warehouse.connection import Warehouse, WarehouseUnavailable

    try:
        missing = _ledger_missing(Warehouse(settings.warehouse_url))
    except WarehouseUnavailable as error:
        print(f"sendflow purge: {error}", file=sys.stderr)
        return EXIT_FILE_PROBLEM
    # No ledger, no record of what was offered when: nothing is known to be old enough to go.
    found = [] if missing else purge_pupil_files(settings, args.older_than, dry_run=args.dry_run)
    verb = "would purge" if args.dry_run else "purged"
    print(f"{verb} {len(found)} raw pupil-level file(s) older than {args.older_than} day(s)")
    for path in found:
        print(f"  {path}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # `sendflow status | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    settings = get_settings()
    if args.command == "ingest":
        return _ingest(args.paths, args.academic_year, settings)
    if args.command == "status":
        return _status(settings, args.limit)
    if args.command == "demo":
        from sendflow.cli.demo import run_demo

        return run_demo(settings, ingest_runner(settings))
    if args.command == "db":
        return _db(args, settings)
    if args.command == "purge":
        return _purge(args, settings)
    if args.command == "synth":
        return _synth_census(args, settings)
    if args.command in ("watch", "serve", "pull"):
        return _service_command(args, settings)
    if args.command == "report":
        return _report(args, settings)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
