"""National-scale pupil census benchmark (not a test: prints figures and ratios).

    make bench                                # via bench.run: school census, then this
    .venv/bin/python -m bench.pupil_census [--schools N] [--engine auto|gx|polars]

1. Loads the real 2023-24 school census (../shared) into a scratch warehouse and generates the synthetic
   national pupil census from it (cached under var/bench/: about 9.1 million rows in one CSV).
2. Times each stage on that CSV in this process: read (school-aligned batches), transform (typing, ages,
   HMAC), validate, Parquet, SQL (SQLite, ADBC), with rows/s.
3. Times the real pipeline end to end (`ingest_path`) in a child process, with its peak RSS, and a floor
   in another: Polars read + Parquet write + bulk load of the same rows with no checks. Prints the ratio.
4. Does the same end to end for 100 schools of XML returns, one file per school.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bench.common import CENSUS, default_postgres

if TYPE_CHECKING:  # imported lazily below: this module measures its children's memory
    from sendflow.loading.file_load import Context

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "var" / "bench" / "pupil_census"
KEY = "benchmark key: not a secret"
YEAR, TERM, SEED = "2023/24", "spring", 2024


def _context(home: Path, warehouse_url: str = "") -> Context:
    from pydantic import SecretStr

    from sendflow.core.settings import Settings
    from sendflow.loading.file_load import Context
    from sendflow.warehouse.schema import ensure_schema

    context = Context.from_settings(Settings(home=home, pupil_key=SecretStr(KEY), warehouse_url=warehouse_url))
    ensure_schema(context.warehouse)
    return context


def _with_published_census(home: Path, warehouse_url: str = "") -> Context:
    from sendflow.loading.file_load import ingest_path

    context = _context(home, warehouse_url)
    outcome = ingest_path(CENSUS, None, context)
    assert outcome.status in ("loaded", "duplicate"), outcome.message
    return context


def national_csv(schools: int | None) -> Path:
    """The synthetic national return (or its first N schools), generated once and cached."""
    from sendflow.synthetic.writers import generate_census
    from sendflow.warehouse.ledger import query

    name = f"national_{YEAR.replace('/', '-')}_{TERM}_{schools or 'all'}.csv"
    target = CACHE / name
    if target.exists():
        return target
    context = _with_published_census(CACHE / "source")
    urns = None
    if schools:
        urns = query(context.warehouse, "SELECT urn FROM fct_school_census WHERE academic_year = '2023/24' "
                     f"AND total_pupils > 0 ORDER BY urn LIMIT {schools}")["urn"].to_list()  # fmt: skip
    started = time.perf_counter()
    out = CACHE / "generated"
    summary = generate_census(
        context.warehouse, urns=urns, national=urns is None, academic_year=YEAR, term=TERM, file_format="csv",
        seed=SEED, out_dir=out, combined=True,
    )  # fmt: skip
    print(
        f"generated {summary.pupils:,} pupils at {summary.schools:,} schools in {time.perf_counter() - started:.1f} s"
    )
    shutil.move(summary.paths[0], target)
    return target


def peak_rss_gib() -> float:
    """This process's own high-water mark. (ru_maxrss would include the parent's, inherited across exec.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024 / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:>12,.0f} rows/s" if seconds else ""


def stages(path: Path, engine: str) -> dict[str, float]:
    """Each stage over the whole file, in the pipeline's own batches."""
    import adbc_driver_sqlite.dbapi as adbc_sqlite

    from sendflow.expectations.runner import validate
    from sendflow.intake.delimited import batches
    from sendflow.intake.header import identify
    from sendflow.intake.reader import read_head
    from sendflow.loading.file_load import BATCH_ROWS, source_info
    from sendflow.registry.datasets import BY_NAME, all_layouts
    from sendflow.warehouse import models
    from sendflow.warehouse.frames import to_arrow
    from sendflow.warehouse.lookups import schools_by_laestab
    from sendflow.warehouse.schema import ddl

    context = _with_published_census(CACHE / "source")
    dataset = BY_NAME["pupil_census"]
    raw = read_head(path, all_layouts())
    layout = identify(raw.header, all_layouts(), path.name).layout
    source = source_info(path, layout, None)
    source = type(source)(**{**source.__dict__, "lookups": {"schools": schools_by_laestab(context.warehouse)},
                             "pupil_key": KEY.encode()})  # fmt: skip
    timings = dict.fromkeys(["read", "transform", "validate", "parquet", "sql"], 0.0)
    rows = 0
    scratch = Path(tempfile.mkdtemp(prefix="sendflow-bench-"))
    table = models.metadata.tables["fct_pupil_census"]
    connection = adbc_sqlite.connect(str(scratch / "w.sqlite"))
    cursor = connection.cursor()
    for statement in ddl(context.warehouse, table):
        cursor.execute(statement)
    pieces = batches(raw, dataset.batch_key, BATCH_ROWS)
    part = 0
    while True:
        started = time.perf_counter()
        batch = next(pieces, None)
        timings["read"] += time.perf_counter() - started
        if batch is None:
            break
        rows += batch.height
        started = time.perf_counter()
        facts = dataset.build(batch, source)[dataset.table]
        timings["transform"] += time.perf_counter() - started
        started = time.perf_counter()
        checked = validate(facts, dataset.suite, engine=engine)
        timings["validate"] += time.perf_counter() - started
        started = time.perf_counter()
        checked.valid.write_parquet(scratch / f"part-{part}.parquet", compression="zstd")
        timings["parquet"] += time.perf_counter() - started
        started = time.perf_counter()
        cursor.adbc_ingest(table.name, to_arrow(checked.valid.with_columns(load_id=1), table), mode="append")
        timings["sql"] += time.perf_counter() - started
        part += 1
    started = time.perf_counter()
    connection.commit()
    timings["sql"] += time.perf_counter() - started
    connection.close()
    shutil.rmtree(scratch)
    print(f"\nStages over {rows:,} rows ({part} batches, validation engine {engine}):")
    for stage, seconds in timings.items():
        print(f"  {stage:<10} {seconds:>8.2f} s {_rate(rows, seconds)}")
    total = sum(timings.values())
    print(f"  {'sum':<10} {total:>8.2f} s {_rate(rows, total)}")
    print(f"  peak RSS of this process: {peak_rss_gib():.2f} GiB")
    return {**timings, "rows": rows}


def _child(mode: str, path: Path, extra: str = "", *more: str) -> dict:
    """Run one measurement in a fresh process; returns its figures and its own peak RSS."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.pupil_census", "--child", mode, "--path", str(path), "--extra", extra, *more],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    out, _ = process.communicate()
    if process.returncode:
        raise SystemExit(f"the {mode} measurement failed (exit {process.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def _postgres_database(admin: str) -> str:
    import psycopg

    name = f"sendflow_bench_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{admin.rsplit('/', 1)[0]}/{name}"


def end_to_end(path: Path, warehouse_url: str = "") -> dict:
    """The pipeline as `sendflow ingest` runs it (without the Prefect wrapper), into a fresh warehouse."""
    from sendflow.loading.file_load import ingest_path

    home = Path(tempfile.mkdtemp(prefix="sendflow-bench-e2e-"))
    context = _with_published_census(home, warehouse_url)
    started = time.perf_counter()
    outcome = ingest_path(path, None, context)
    seconds = time.perf_counter() - started
    shutil.rmtree(home)
    assert outcome.status == "loaded", outcome.message
    return {"seconds": seconds, "rows": outcome.rows_loaded, "quarantined": outcome.rows_quarantined}


def floor(path: Path) -> dict:
    """The least any loader must do: read the CSV, write Parquet, bulk-load the same rows unchecked."""
    import adbc_driver_sqlite.dbapi as adbc_sqlite
    import polars as pl

    scratch = Path(tempfile.mkdtemp(prefix="sendflow-bench-floor-"))
    started = time.perf_counter()
    frame = pl.read_csv(path, infer_schema=False)
    frame.write_parquet(scratch / "floor.parquet", compression="zstd")
    with adbc_sqlite.connect(str(scratch / "floor.sqlite")) as connection:
        connection.cursor().adbc_ingest("floor", frame.to_arrow(), mode="create")
        connection.commit()
    seconds = time.perf_counter() - started
    shutil.rmtree(scratch)
    return {"seconds": seconds, "rows": frame.height}


def postgres_floor(path: Path, admin: str) -> dict:
    """A raw binary COPY of the file's rows, all text, into a bare table: the least PostgreSQL can do."""
    import polars as pl
    import psycopg

    url = _postgres_database(admin)
    started = time.perf_counter()
    frame = pl.read_csv(path, infer_schema=False)
    with psycopg.connect(url) as connection:
        columns = ", ".join(f'"{c}" text' for c in frame.columns)
        connection.execute(f"CREATE TABLE floor ({columns})")
        with connection.cursor() as cursor, cursor.copy("COPY floor FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["text"] * frame.width)
            for row in frame.iter_rows():
                copy.write_row(row)
    seconds = time.perf_counter() - started
    _drop(admin, url)
    return {"seconds": seconds, "rows": frame.height}


def _drop(admin: str, url: str) -> None:
    import psycopg

    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def xml_schools(count: int) -> dict:
    """`count` schools of XML returns, one file each, through the pipeline one by one."""
    from sendflow.core.vocabulary import LoadStatus
    from sendflow.loading.file_load import ingest_path
    from sendflow.synthetic.writers import generate_census
    from sendflow.warehouse.ledger import query

    home = Path(tempfile.mkdtemp(prefix="sendflow-bench-xml-"))
    context = _with_published_census(home)
    urns = query(context.warehouse, "SELECT urn FROM fct_school_census WHERE academic_year = '2023/24' "
                 f"AND total_pupils > 0 ORDER BY urn LIMIT {count}")["urn"].to_list()  # fmt: skip
    paths = generate_census(
        context.warehouse, urns=urns, academic_year=YEAR, term=TERM, file_format="xml", seed=SEED,
        out_dir=home / "xml",
    ).paths  # fmt: skip
    started = time.perf_counter()
    outcomes = [ingest_path(p, None, context) for p in paths]
    seconds = time.perf_counter() - started
    shutil.rmtree(home)
    failed = [o.message for o in outcomes if o.status != LoadStatus.LOADED]
    assert not failed, failed[:3]
    return {"seconds": seconds, "rows": sum(o.rows_loaded for o in outcomes), "files": len(paths)}


# Each stage of the hand-written baseline runs on the whole file unless that would take longer than this; a
# slower stage is measured on the leading rows it reached in the time and extrapolated linearly (and says so).
BASELINE_BUDGET_SECONDS = 300.0


def _within_budget(rows: int, budget: float, work: Callable[[int, int], None], slice_rows: int) -> dict:
    """Run `work(start, stop)` over leading slices of `rows` until all are done or `budget` seconds have passed;
    the time for all rows, extrapolated linearly from the rows done when the budget ran out."""
    started = time.perf_counter()
    done = 0
    while done < rows:
        stop = min(done + slice_rows, rows)
        work(done, stop)
        done = stop
        if time.perf_counter() - started > budget:
            break
    seconds = time.perf_counter() - started
    return {"seconds": seconds * rows / done, "measured_rows": done, "measured_seconds": seconds}


def baseline(path: Path, admin: str | None, budget: float) -> dict:
    """What a user would write by hand: pandas read_csv (all text), the pupil transform (sendflow's own, in
    Polars: the by-hand version would be slower, so the ratio is on the baseline's side), the same suite in
    Great Expectations on the pandas frame, DataFrame.to_parquet and DataFrame.to_sql(method="multi")."""
    import great_expectations as gx
    import pandas as pd  # type: ignore[import-untyped]  # no stubs in the project: the baseline only
    import polars as pl
    import sqlalchemy as sa

    from sendflow.expectations.runner import _batch_definition
    from sendflow.registry.datasets import BY_NAME
    from sendflow.transforms.common import SOURCE_ROW, SourceInfo
    from sendflow.warehouse.lookups import schools_by_laestab

    dataset = BY_NAME["pupil_census"]
    suite = dataset.suite
    schools = schools_by_laestab(_with_published_census(CACHE / "source").warehouse)
    stages: dict[str, dict] = {}
    scratch = Path(tempfile.mkdtemp(prefix="sendflow-bench-baseline-"))

    started = time.perf_counter()
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    stages["read"] = {"seconds": time.perf_counter() - started}
    rows = len(raw)

    started = time.perf_counter()
    source = SourceInfo(layout="pupil_census_csv", source_name=path.name, academic_year=None,
                        lookups={"schools": schools}, pupil_key=KEY.encode())  # fmt: skip
    typed = []
    for start in range(0, rows, 1_000_000):  # the frame in pieces, as a careful hand-written loader would
        piece = pl.from_pandas(raw.iloc[start : start + 1_000_000]).with_row_index(SOURCE_ROW, offset=start + 2)
        table = dataset.build(piece.with_columns(pl.col(SOURCE_ROW).cast(pl.Int64)), source)[dataset.table]
        for rule in suite.one_place:  # the suite's cross-row rule, as helper columns its checks read
            others, _ = rule.check(table, None)
            table = table.join(others, on=SOURCE_ROW, how="left")
        typed.append(table.with_columns(**suite.derived))
    frame = pl.concat(typed).to_pandas()
    del raw, typed
    stages["transform"] = {"seconds": time.perf_counter() - started}

    definition = _batch_definition()  # GX's ephemeral context, as the pipeline sets it up
    expectations = gx.ExpectationSuite(name="pupil_census")
    for check in suite.checks:
        expectations.add_expectation(getattr(gx.expectations, check.expectation)(**dict(check.kwargs)))
    format_ = {"result_format": "COMPLETE", "unexpected_index_column_names": [SOURCE_ROW]}

    def validate(start: int, stop: int) -> None:
        batch = definition.get_batch(batch_parameters={"dataframe": frame.iloc[start:stop]})
        batch.validate(expectations, result_format=format_)

    stages["validate"] = _within_budget(rows, budget, validate, 250_000)
    frame = frame[[c for c in frame.columns if c not in (*suite.derived, *(r.column for r in suite.one_place))]]

    started = time.perf_counter()
    frame.to_parquet(scratch / "pupils.parquet", compression="zstd")
    stages["parquet"] = {"seconds": time.perf_counter() - started}

    def to_sql(url: str, chunk: int) -> Callable[[int, int], None]:
        engine = sa.create_engine(url)
        frame.head(0).to_sql("fct_pupil_census", engine, index=False)

        def write(start: int, stop: int) -> None:
            frame.iloc[start:stop].to_sql("fct_pupil_census", engine, index=False, if_exists="append",
                                          method="multi", chunksize=chunk)  # fmt: skip

        return write

    # As many rows a statement as each driver's parameter limit allows (SQLite 32,766; PostgreSQL 65,535).
    width = len(frame.columns)
    stages["sql"] = _within_budget(rows, budget, to_sql(f"sqlite:///{scratch / 'w.sqlite'}", 32_766 // width), 10_000)
    if admin:
        url = _postgres_database(admin)
        try:
            stages["pg_sql"] = _within_budget(
                rows, budget, to_sql(f"postgresql+psycopg://{url.split('://', 1)[1]}", 65_535 // width), 10_000
            )
        finally:
            _drop(admin, url)
    shutil.rmtree(scratch)
    return {"rows": rows, "stages": stages}


def _print_baseline(figures: dict, sendflow_stages: dict[str, float], e2e: dict, pg: dict | None) -> None:
    rows, stages = figures["rows"], figures["stages"]
    print(f"\nBaseline by hand (pandas read_csv dtype=str, transform, Great Expectations on pandas, to_parquet, "
          f"to_sql method='multi') on the same {rows:,} rows, peak RSS {figures['peak_rss_gib']:.2f} GiB:")  # fmt: skip
    for stage, measured in stages.items():
        note = ""
        if measured.get("measured_rows", rows) < rows:
            note = (f"  EXTRAPOLATED linearly from the first {measured['measured_rows']:,} rows "
                    f"({measured['measured_seconds']:.1f} s)")  # fmt: skip
        ours = sendflow_stages.get(stage)
        ratio = f"  {measured['seconds'] / ours:6.1f}x sendflow's {stage} stage" if ours else ""
        print(f"  {stage:<10} {measured['seconds']:>9.2f} s {_rate(rows, measured['seconds'])}{ratio}{note}")
    common = sum(stages[s]["seconds"] for s in ("read", "transform", "validate", "parquet"))
    sqlite_total = common + stages["sql"]["seconds"]
    print(f"  total into Parquet + SQLite {sqlite_total:9.2f} s: sendflow end to end is "
          f"{sqlite_total / e2e['seconds']:.1f}x faster ({e2e['seconds']:.2f} s)")  # fmt: skip
    if pg is not None and "pg_sql" in stages:
        pg_total = common + stages["pg_sql"]["seconds"]
        print(f"  total into Parquet + PostgreSQL {pg_total:9.2f} s: sendflow end to end is "
              f"{pg_total / pg['seconds']:.1f}x faster ({pg['seconds']:.2f} s)")  # fmt: skip


def _pg_end_to_end(path: Path, admin: str) -> dict:
    url = _postgres_database(admin)
    try:
        return end_to_end(path, url)
    finally:
        _drop(admin, url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schools", type=int, default=None, help="first N schools instead of the whole country")
    parser.add_argument("--engine", default="auto", choices=["auto", "gx", "polars"])
    parser.add_argument("--child", choices=["end_to_end", "floor", "xml", "pg_end_to_end", "pg_floor", "baseline"])
    parser.add_argument("--skip-baseline", action="store_true", help="leave out the pandas + GX + to_sql baseline")
    parser.add_argument(
        "--baseline-budget", type=float, default=BASELINE_BUDGET_SECONDS,
        help="seconds a baseline stage may take before it is measured on its leading rows and extrapolated",
    )  # fmt: skip
    parser.add_argument(
        "--postgres",
        default=None,
        help="admin URL of a PostgreSQL server to measure too (a database is created and dropped)",
    )
    parser.add_argument("--path", type=Path)
    parser.add_argument("--extra", default="")
    args = parser.parse_args()
    if args.child:
        figures = {
            "end_to_end": lambda: end_to_end(args.path),
            "floor": lambda: floor(args.path),
            "xml": lambda: xml_schools(int(args.extra)),
            "pg_end_to_end": lambda: _pg_end_to_end(args.path, args.extra),
            "pg_floor": lambda: postgres_floor(args.path, args.extra),
            "baseline": lambda: baseline(args.path, args.extra or None, args.baseline_budget),
        }[args.child]()
        figures["peak_rss_gib"] = peak_rss_gib()
        print(json.dumps(figures))
        return
    if not CENSUS.exists():
        raise SystemExit(f"real data not found at {CENSUS}")
    args.postgres = args.postgres or default_postgres()
    path = national_csv(args.schools)
    print(f"national CSV: {path} ({path.stat().st_size / 1e6:,.0f} MB)")
    ours = stages(path, args.engine)
    e2e = _child("end_to_end", path)
    base = _child("floor", path)
    print("\nEnd to end, pipeline (hash, bronze, read, transform + HMAC, validate, Parquet, SQLite, one transaction):")
    print(f"  {e2e['seconds']:8.2f} s {_rate(e2e['rows'], e2e['seconds'])}, peak RSS {e2e['peak_rss_gib']:.2f} GiB, "
          f"{e2e['quarantined']:,} quarantined")  # fmt: skip
    print(f"Floor (read CSV + write Parquet + bulk load, no checks): {base['seconds']:.2f} s "
          f"{_rate(base['rows'], base['seconds'])}, peak RSS {base['peak_rss_gib']:.2f} GiB")  # fmt: skip
    print(f"Ratio pipeline / floor: {e2e['seconds'] / base['seconds']:.2f}")
    pg = None
    if args.postgres:
        pg = _child("pg_end_to_end", path, args.postgres)
        pg_floor = _child("pg_floor", path, args.postgres)
        print("\nPostgreSQL (binary COPY into a temporary staging table, then one publish transaction):")
        pipeline = f"{pg['seconds']:8.2f} s {_rate(pg['rows'], pg['seconds'])}"
        print(f"  pipeline {pipeline}, peak RSS {pg['peak_rss_gib']:.2f} GiB")
        raw = f"{pg_floor['seconds']:.2f} s {_rate(pg_floor['rows'], pg_floor['seconds'])}"
        print(f"  raw binary COPY of the same rows (text columns, no index) {raw}")
        print(f"  ratio pipeline / raw COPY {pg['seconds'] / pg_floor['seconds']:.2f}")
        print(f"  PostgreSQL / SQLite pipeline: {pg['seconds'] / e2e['seconds']:.2f}")
    if not args.skip_baseline:
        hand = _child("baseline", path, args.postgres or "", "--baseline-budget", str(args.baseline_budget))
        _print_baseline(hand, ours, e2e, pg)
    xml = _child("xml", path, "100")
    print(f"\n100 schools of XML, one file each: {xml['files']} files, {xml['rows']:,} rows in {xml['seconds']:.2f} s "
          f"{_rate(xml['rows'], xml['seconds'])} ({xml['seconds'] / xml['files'] * 1000:.0f} ms a file), "
          f"peak RSS {xml['peak_rss_gib']:.2f} GiB")  # fmt: skip


if __name__ == "__main__":
    main()
