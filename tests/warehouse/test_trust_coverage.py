"""How old each year's trust membership is on census day, and which member schools the census lacks and why,
on both backends: GIAS's 2017 academy links beside the January 2019 and January 2024 censuses."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import polars as pl

from sendflow.loading.file_load import Context, ingest_path
from sendflow.warehouse import ledger
from tests.conftest import SAMPLE_DIR
from tests.loading.test_file_load_membership import _gias_file

HEADER_2017 = [
    "URN", "Linked UID", "Group Name", "Companies House Number", "Group Type", "Closed Date", "Group Status",
    "FederationType", "Joined date", "EstablishmentName", "TypeOfEstablishment (code)", "TypeOfEstablishment (name)",
    "PhaseOfEducation (code)", "PhaseOfEducation (name)", "LA (code)", "LA (name)", "HasSharedHT",
]  # fmt: skip


def _links_2017(path: Path, members: list[tuple[str, str, str]]) -> Path:
    """(URN, trust UID, group type) rows in the 2017 layout, as published: no row has the last field."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(HEADER_2017)
    for urn, uid, kind in members:
        writer.writerow([urn, uid, f"Trust {uid}", "", kind, "", "Open", "", "01-09-2015", f"School {urn}", "28",
                         "Academy converter", "2", "Primary", "201", "City of London"])  # fmt: skip
    path.write_bytes(buffer.getvalue().rstrip("\r\n").encode("cp1252"))
    return path


def test_membership_age_and_the_unmatched_schools_with_their_reasons(backend_context: Context, tmp_path: Path) -> None:
    census = pl.read_csv(SAMPLE_DIR / "england_census_2023-24.csv", infer_schema=False)
    present = census["URN"].head(3).to_list()
    members = [(urn, "7001", "Multi-academy trust") for urn in present] + [
        ("999991", "7001", "Multi-academy trust"),  # closed, converted under a new URN
        ("999992", "7001", "Multi-academy trust"),  # gone with no link
        (present[0], "2150", "School sponsor"),  # a sponsor is no membership
    ]
    for path in (
        _links_2017(tmp_path / "grouplinks_edubaseallacademiesandfree20170403.csv", members),
        _gias_file(tmp_path / "links_edubasealldata20250422.csv", "gias_links.header.csv", [
            {"URN": "999991", "LinkURN": "149991", "LinkName": "New Academy", "LinkType": "Successor",
             "LinkEstablishedDate": "01-09-2018"}
        ]),
        SAMPLE_DIR / "england_census_2018-19.csv",
        SAMPLE_DIR / "england_census_2023-24.csv",
    ):  # fmt: skip
        outcome = ingest_path(path, None, backend_context)
        assert outcome.status == "loaded", outcome.line()

    coverage = ledger.query(
        backend_context.warehouse, "SELECT * FROM v_trust_membership_coverage ORDER BY academic_year"
    ).to_dicts()
    assert [
        (r["trust_id"], r["academic_year"], r["membership_age_months"], r["member_schools"], r["matched_schools"],
         r["unmatched_schools"]) for r in coverage
    ] == [("7001", "2018/19", 21, 5, 3, 2), ("7001", "2023/24", 81, 5, 3, 2)]  # fmt: skip
    assert {str(r["membership_extract_date"])[:10] for r in coverage} == {date(2017, 4, 3).isoformat()}
    unmatched = ledger.query(
        backend_context.warehouse,
        "SELECT urn, link_urn, reason FROM v_trust_unmatched_school WHERE academic_year = '2023/24' ORDER BY urn",
    ).rows()
    assert unmatched == [
        ("999991", "149991", "not in the census; GIAS links it: Successor 149991"),
        ("999992", None, "not in the census, and no GIAS establishment link explains it"),
    ]
    summary = ledger.query(
        backend_context.warehouse,
        "SELECT academic_year, schools, membership_age_months FROM v_trust_send_summary WHERE trust_id = '7001' "
        "ORDER BY academic_year",
    ).rows()
    assert summary == [("2018/19", 3, 21), ("2023/24", 3, 81)]
