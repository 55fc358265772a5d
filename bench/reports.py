"""Times trust reports at national scale (not a test: prints figures only).

The warehouse holds the full real files: the 2018-19 and 2023-24 school census, the 2023-24 school
information, every DSG workbook, the 2025 SEN2 caseload and the 2023-24 s251 outturn. No real group-links
extract is bundled, so trusts are invented: every academy in the school information, in chunks of
SENDFLOW_BENCH_TRUST_SIZE (8) schools within its LA, as if each chunk were a multi-academy trust.

    .venv/bin/python -m bench.reports         # a sample of SENDFLOW_BENCH_TRUSTS (40) trusts: stages, then
                                              # written by one process against one per CPU (make bench)
    SENDFLOW_BENCH_TRUSTS=all .venv/bin/python -m bench.reports   # every invented trust and the index, as
                                                                  # sendflow report --all-trusts does
"""

from __future__ import annotations

import csv
import dataclasses
import os
import tempfile
import time
from functools import partial
from pathlib import Path

import polars as pl

from bench.common import REAL, timed
from sendflow.core.settings import Settings
from sendflow.core.vocabulary import LoadStatus
from sendflow.loading.file_load import Context, ingest_path
from sendflow.reports import read as report_read
from sendflow.reports import write as report_write
from sendflow.warehouse.schema import ensure_schema

LA_FUNDING = REAL / "la_funding"
FILES = (
    REAL / "gias" / "perf_tables_england_school_information_2023-24.csv",
    REAL / "sen_school_level" / "perf_tables_england_census_2018-19.csv",
    REAL / "sen_school_level" / "perf_tables_england_census_2023-24.csv",
    *sorted((LA_FUNDING / "dsg_allocations").glob("*.ods")),
    LA_FUNDING / "ehcp_sen2_2025" / "caseload.csv",
    LA_FUNDING / "s251_high_needs" / "s251_outturn_2023-24_SEN_high_needs_lines_by_LA.csv",
)
LINKS_HEADER = (
    "URN", "Group UID", "Group ID", "Group Name", "Group Type", "Group Status", "Joined date", "EstablishmentName",
    "LA (code)",
)  # fmt: skip


def invented_group_links(folder: Path, trust_size: int) -> tuple[Path, int]:
    """A group-links extract putting every academy into an invented trust of `trust_size` schools in its LA."""
    schools = (
        pl.read_csv(FILES[0], infer_schema=False)
        .filter(pl.col("MINORGROUP") == "Academy")
        .select("URN", "LA", "SCHNAME")
        .sort("LA", "URN")
    )
    path = folder / "bench_allgroupslinksdata20240901.csv"
    trusts = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(LINKS_HEADER)
        for (la,), members in schools.group_by("LA", maintain_order=True):
            for start in range(0, members.height, trust_size):
                trusts += 1
                uid = str(800000 + trusts)
                for urn, _, name in members.slice(start, trust_size).iter_rows():
                    writer.writerow((urn, uid, f"TR{uid}", f"Bench Trust {uid} (invented)", "Multi-academy trust",
                                     "Open", "01-09-2016", name, la))  # fmt: skip
    return path, trusts


def main() -> None:
    trust_size = int(os.environ.get("SENDFLOW_BENCH_TRUST_SIZE", "8"))
    sample = os.environ.get("SENDFLOW_BENCH_TRUSTS", "40")
    with tempfile.TemporaryDirectory(prefix="sendflow-bench-reports-") as tmp:
        home = Path(tmp)
        context = Context.from_settings(Settings(home=home))
        ensure_schema(context.warehouse)
        links, trusts = invented_group_links(home, trust_size)
        print(f"Loading the real files and {trusts:,} invented trusts of up to {trust_size} academies each:")
        for path in (*FILES, links):
            outcome = timed(path.name[:28], None, partial(ingest_path, path, None, context))
            assert outcome.status == LoadStatus.LOADED, outcome.line()
        settings, warehouse = context.settings, context.warehouse
        trust_ids = report_read.reportable_trusts(warehouse, "2023/24")
        print(f"{len(trust_ids):,} trusts with a 2023/24 census")
        if sample == "all":
            out = home / "reports"
            start = time.perf_counter()
            written = report_write.write_all_trust_reports(warehouse, "2023/24", out, settings.report_options)
            seconds = time.perf_counter() - start
            print(f"--all-trusts: {len(written.reports):,} reports and the index in {seconds:,.1f} s "
                  f"({seconds / max(len(written.reports), 1):.3f} s per trust)")  # fmt: skip
            return
        chosen = trust_ids[:: max(1, len(trust_ids) // int(sample))][: int(sample)]
        stages = {"read": 0.0, "tables and charts": 0.0, "write": 0.0}
        for trust_id in chosen:
            start = time.perf_counter()
            data = report_read.load_trust_data(warehouse, trust_id, "2023/24")
            read = time.perf_counter()
            report, images = report_write.render_report(data, settings.report_options)
            rendered = time.perf_counter()
            report_write.write_rendered(report, images, data.sources, home / "reports" / trust_id)
            stages["read"] += read - start
            stages["tables and charts"] += rendered - read
            stages["write"] += time.perf_counter() - rendered
        per_trust = sum(stages.values()) / len(chosen)
        print(f"Per trust, mean of {len(chosen)}:")
        for stage, total in stages.items():
            print(f"  {stage:<28} {total / len(chosen):>8.3f} s  ({total / sum(stages.values()):.0%})")
        print(f"  {'all':<28} {per_trust:>8.3f} s -> {len(trust_ids):,} trusts one after another: "
              f"{per_trust * len(trust_ids) / 60:,.1f} min")  # fmt: skip
        timings = {}
        for workers in (1, os.cpu_count() or 1):
            start = time.perf_counter()
            with_workers = dataclasses.replace(settings.report_options, workers=workers)
            report_write.write_trust_reports(warehouse, chosen, "2023/24", home / f"reports-{workers}", with_workers)
            timings[workers] = time.perf_counter() - start
            print(f"write_trust_reports of the {len(chosen)}, {workers} process(es): {timings[workers]:.1f} s")
        print(f"  -> {timings[1] / timings[max(timings)]:.2f}x with {max(timings)} processes")


if __name__ == "__main__":
    main()
