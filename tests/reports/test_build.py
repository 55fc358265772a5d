"""Writing a trust's report from the warehouse, and which trusts a load affects (for refresh-marts)."""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from pathlib import Path

import openpyxl
import pytest
from pydantic import SecretStr

from sendflow.core.settings import Settings
from sendflow.loading.file_load import Context
from sendflow.reports.affected import trusts_affected_by
from sendflow.reports.read import ReportError, load_trust_data
from sendflow.reports.write import render_report, write_all_trust_reports, write_trust_report, write_trust_reports
from sendflow.warehouse import ledger
from sendflow.warehouse.ledger import query
from sendflow.warehouse.schema import ensure_schema
from tests.conftest import INVENTED_TRUST_ID, _reset_postgres
from tests.reports.conftest import load_demo
from tests.reports.test_disclosure import pinned_by_non_negativity, recoverable_by_brute_force, recoverable_by_rank


def test_the_report_and_its_tables_are_written_beside_each_other(report_context: Context, tmp_path: Path) -> None:
    options = report_context.settings.report_options
    files = write_trust_report(report_context.warehouse, INVENTED_TRUST_ID, None, tmp_path, options)

    assert files.html == tmp_path / "trust-900001-2023-24.html"  # the latest year by default
    assert [p.name for p in files.csvs] == ["trust_by_year.csv", "peer_standing.csv", "peer_distribution.csv",
                                            "schools.csv", "la_funding.csv", "need_by_year_group.csv",
                                            "reconciliation.csv"]  # fmt: skip
    assert all(p.parent == tmp_path / "trust-900001-2023-24-tables" and p.stat().st_size for p in files.csvs)
    assert openpyxl.load_workbook(files.xlsx).sheetnames == [p.stem for p in files.csvs] + ["about"]
    assert not list(tmp_path.rglob("*.partial"))
    page = files.html.read_text(encoding="utf-8")
    assert all(f'href="trust-900001-2023-24-tables/{p.name}"' in page for p in files.csvs)


def test_every_pupil_level_table_of_the_demo_resists_recovery(report_context: Context) -> None:
    data = load_trust_data(report_context.warehouse, INVENTED_TRUST_ID, "2023/24")
    report, _ = render_report(data, report_context.settings.report_options)
    needs = report.table("need_by_year_group")
    counts = [c.name for c in needs.columns if c.kind == "count"]
    need_grid = [list(r) for r in needs.frame.select(counts).rows()]
    hidden = {(i, counts.index(c)) for i, c in needs.hidden}

    # 31 lines are too many to enumerate (3^31 combinations): the rank test asks the same question.
    assert hidden and recoverable_by_rank(need_grid, hidden) == set()

    rec = report.table("reconciliation")
    returned = ["pupils_returned", "ehc_plan_returned", "sen_support_returned"]
    grid = [list(r) for r in rec.frame.select(returned).rows()]
    hidden = {(i, returned.index(c)) for i, c in rec.hidden if c in returned}
    assert hidden and recoverable_by_brute_force(grid, hidden, row_totals=False) == set()
    assert pinned_by_non_negativity(grid, hidden, row_totals=False) == set()


def test_an_unknown_trust_or_year_is_a_clear_error(report_context: Context, tmp_path: Path) -> None:
    options, out = report_context.settings.report_options, tmp_path / "out"
    with pytest.raises(ReportError, match="unknown trust '424242'"):
        write_trust_report(report_context.warehouse, "424242", None, out, options)
    with pytest.raises(ReportError, match="years with its schools: 2018/19, 2023/24"):
        write_trust_report(report_context.warehouse, INVENTED_TRUST_ID, "2020/21", out, options)
    assert not out.exists()


def test_a_trust_with_no_census_loaded_has_nothing_to_report(context: Context, tmp_path: Path) -> None:
    from tests.loading.test_file_load_membership import A, _gias_file, _member

    links = _gias_file(tmp_path / "allgroupslinksdata20210115.csv", "gias_all_links.header.csv",
                       [_member("140001", A, "01-09-2019")])  # fmt: skip
    from sendflow.loading.file_load import ingest_path

    assert ingest_path(links, None, context).status == "loaded"
    with pytest.raises(ReportError, match="nothing is loaded for trust 5001"):
        write_trust_report(context.warehouse, "5001", None, tmp_path / "out", context.settings.report_options)


def test_all_trusts_get_a_folder_each_and_an_index(report_context: Context, tmp_path: Path) -> None:
    written = write_all_trust_reports(report_context.warehouse, None, tmp_path, report_context.settings.report_options)

    # The invented trust at 2023/24 (its 2024 extract); the sample's real trusts at 2018/19, whose 2017 links are
    # 81 months old by January 2024; single-academy trusts only on request.
    pages = {f.html.relative_to(tmp_path).as_posix() for f in written.reports}
    assert "trust-900001/trust-900001-2023-24.html" in pages
    types = dict(query(report_context.warehouse, "SELECT trust_id, trust_type FROM dim_trust").rows())
    real = {p.split("/")[0].removeprefix("trust-") for p in pages} - {INVENTED_TRUST_ID}
    assert real and all(types[t] == "Multi-academy trust" for t in real)
    assert all(p.endswith("-2018-19.html") for p in pages if not p.startswith("trust-900001/"))
    index = written.index.read_text(encoding="utf-8")
    assert all(f'href="{p}"' in index for p in pages) and "report on request" in index


def _invent_trusts(context: Context, tmp_path: Path, trusts: int, size: int) -> list[str]:
    """`trusts` invented trusts of `size` schools of the 2023/24 census that belong to no trust yet."""
    from tests.loading.test_file_load_membership import _gias_file, _member

    free = ledger.query(
        context.warehouse,
        "SELECT c.urn FROM fct_school_census c JOIN dim_school d ON d.urn = c.urn AND d.valid_to IS NULL "
        "WHERE c.academic_year = '2023/24' AND d.trust_id IS NULL ORDER BY c.urn",
    )["urn"].to_list()
    ids = [str(7000 + n) for n in range(trusts)]
    rows = [
        _member(urn, {"Group UID": uid, "Group ID": f"TR{uid}", "Group Name": f"Trust {uid}"}, "01-09-2016")
        for n, uid in enumerate(ids)
        for urn in free[n * size : (n + 1) * size]
    ]
    links = _gias_file(tmp_path / "invented_allgroupslinksdata20240902.csv", "gias_all_links.header.csv", rows)
    from sendflow.loading.file_load import ingest_path

    assert ingest_path(links, None, context).status == "loaded"
    return ids


def test_many_trusts_written_by_two_processes_equal_those_written_by_one(
    report_context: Context, tmp_path: Path
) -> None:
    invented = _invent_trusts(report_context, tmp_path, trusts=5, size=3)
    one = dataclasses.replace(report_context.settings.report_options, workers=1)
    two = dataclasses.replace(report_context.settings.report_options, workers=2)

    alone = write_all_trust_reports(report_context.warehouse, "2023/24", tmp_path / "one", one)
    shared = write_all_trust_reports(report_context.warehouse, "2023/24", tmp_path / "two", two)

    assert [f.html.parent.name for f in shared.reports] == [
        f"trust-{t}" for t in sorted([INVENTED_TRUST_ID, *invented])
    ]
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*") if p.suffix != ".xlsx")
    assert len(files) > 6 * 5 and files == sorted(
        p.relative_to(tmp_path / "two") for p in (tmp_path / "two").rglob("*") if p.suffix != ".xlsx"
    )
    for name in files:
        if (tmp_path / "one" / name).is_file():
            assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    assert [f.xlsx.name for f in alone.reports] == [f.xlsx.name for f in shared.reports]
    for mine, theirs in zip(alone.reports, shared.reports, strict=True):
        left, right = openpyxl.load_workbook(mine.xlsx), openpyxl.load_workbook(theirs.xlsx)
        assert left.sheetnames == right.sheetnames
        for sheet in left.sheetnames:
            assert list(left[sheet].values) == list(right[sheet].values), (mine.xlsx.name, sheet)


def test_a_trust_with_nothing_to_report_is_skipped_with_its_reason(report_context: Context, tmp_path: Path) -> None:
    options = dataclasses.replace(report_context.settings.report_options, workers=2)
    asked = ["424242", INVENTED_TRUST_ID, "424243", " 424244", INVENTED_TRUST_ID]  # four trusts: two processes
    outcomes = write_trust_reports(report_context.warehouse, asked, None, tmp_path, options)

    assert [o.trust_id for o in outcomes] == ["424242", INVENTED_TRUST_ID, "424243", "424244"]  # each trust once
    assert outcomes[0].files is None and "unknown trust '424242'" in str(outcomes[0].skipped)
    assert outcomes[1].files is not None and outcomes[1].academic_year == "2023/24" and outcomes[1].skipped is None
    assert outcomes[1].files.html.is_file() and not (tmp_path / "trust-424242").exists()
    assert sorted(p.name for p in tmp_path.rglob("*partial*")) == []


Y, T, U = "academic_year", "census_term", "urn"


@pytest.mark.parametrize(
    ("dataset", "partitions", "expected"),
    [
        ("school_census", [{Y: "2023/24"}], [INVENTED_TRUST_ID]),
        ("school_census", [{Y: "2019/20"}], []),
        ("pupil_census", [{Y: "2023/24", T: "spring", U: "137181"}], [INVENTED_TRUST_ID]),
        ("pupil_census", [{Y: "2023/24", T: "spring"}], [INVENTED_TRUST_ID]),  # a census of many schools
        ("pupil_census", [{Y: "2023/24", T: "autumn", U: "137181"}], []),
        ("pupil_census", [{Y: "2023/24", T: "spring", U: "100000"}], []),  # a school of no trust
        ("trust_membership", [{"snapshot_date": "2024-09-01"}], [INVENTED_TRUST_ID]),
        ("school_register", [{"snapshot_date": "2023-09-01"}], [INVENTED_TRUST_ID]),
        ("school_register", [{"snapshot_date": "2020-09-01"}], []),
        ("school_links", [{"snapshot_date": "2025-01-15"}], []),
        ("dsg_allocation", [{"financial_year": "2023-24"}], [INVENTED_TRUST_ID]),
        ("dsg_allocation", [{"financial_year": "2019-20"}, {"financial_year": "2023-24"}], [INVENTED_TRUST_ID]),
        ("la_high_needs_spend", [{"financial_year": "2023-24", "kind": "outturn"}], [INVENTED_TRUST_ID]),
        ("la_high_needs_spend", [{"financial_year": "2023-24", "kind": "budget"}], []),
        ("la_ehcp", [{"release": 2025, "source_table": "caseload"}], [INVENTED_TRUST_ID]),
        ("la_ehcp", [{"release": 2024, "source_table": "caseload"}], []),
        ("la_ehcp", [{"release": 2025}], [INVENTED_TRUST_ID]),  # every file of a release
        ("la_high_needs_spend", [{"financial_year": "2023-24"}], [INVENTED_TRUST_ID]),
        ("school_register", [{}], [INVENTED_TRUST_ID]),  # no key at all: every snapshot
    ],
)
def test_trusts_affected_by_a_load(
    report_context: Context, dataset: str, partitions: list[dict[str, str | int]], expected: list[str]
) -> None:
    found = trusts_affected_by(report_context.warehouse, dataset, partitions)
    # The sample's real trusts (GIAS's 2017 links) are reached too where the load touches them.
    assert INVENTED_TRUST_ID in found if expected else found == [], found


def test_trusts_affected_by_refuses_what_it_cannot_read(report_context: Context) -> None:
    warehouse = report_context.warehouse
    with pytest.raises(ValueError, match="unknown dataset"):
        trusts_affected_by(warehouse, "no_such_dataset", [{Y: "2023/24"}])
    with pytest.raises(ValueError, match="cannot read partition"):
        trusts_affected_by(warehouse, "school_census", [{"academic_year = '2023/24' OR 1": "1"}])
    with pytest.raises(ValueError, match="cannot read partition"):
        trusts_affected_by(warehouse, "school_census", ["2023/24"])  # type: ignore[list-item]  # a string, as before
    with pytest.raises(ValueError, match="cannot read 'next year' as a date"):
        trusts_affected_by(warehouse, "school_register", [{"snapshot_date": "next year"}])
    # A value is bound, never written into the SQL: a hostile one matches nothing and drops nothing.
    assert trusts_affected_by(warehouse, "school_census", [{Y: "2023'; DROP TABLE dim_school; --"}]) == []
    assert INVENTED_TRUST_ID in trusts_affected_by(warehouse, "school_census", [{Y: "2023/24"}])
    assert trusts_affected_by(warehouse, "school_census", []) == []


@pytest.mark.postgres
def test_postgresql_gives_the_same_report(
    postgres_database: str, report_context: Context, demo_returns_seed: int, tmp_path: Path
) -> None:
    _reset_postgres(postgres_database)
    settings = Settings(home=tmp_path / "pg", warehouse_url=postgres_database, pupil_key=SecretStr("report-tests-key"))
    context = Context.from_settings(settings)
    ensure_schema(context.warehouse)
    load_demo(context, demo_returns_seed)

    options = settings.report_options
    on_sqlite = write_trust_report(report_context.warehouse, INVENTED_TRUST_ID, None, tmp_path / "sqlite", options)
    on_postgres = write_trust_report(context.warehouse, INVENTED_TRUST_ID, None, tmp_path / "postgres", options)

    for mine, theirs in zip(on_sqlite.csvs, on_postgres.csvs, strict=True):
        left = list(csv.reader(io.StringIO(mine.read_text(encoding="utf-8"), newline="")))
        right = list(csv.reader(io.StringIO(theirs.read_text(encoding="utf-8"), newline="")))
        assert len(left) == len(right), mine.name
        for a, b in zip(left, right, strict=True):
            for x, y in zip(a, b, strict=True):
                assert x == y or math.isclose(float(x), float(y), rel_tol=1e-12), (mine.name, a, b)
