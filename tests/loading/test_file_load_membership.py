"""Trust membership over time, end to end from files in GIAS's exact layouts.

A school joins trust A, moves to trust B, then is re-brokered under a new URN. No real group-links data
is public, so the rows are invented; the headers are GIAS's own (tests/fixtures/headers).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from sendflow.loading.file_load import Context, ingest_path
from sendflow.warehouse import ledger
from tests.conftest import PROJECT

HEADERS = PROJECT / "tests" / "fixtures" / "headers"
A = {
    "Group UID": "5001",
    "Group ID": "TR00001",
    "Group Name": "Alpha Learning Trust",
    "Companies House Number": "07654321",
}
B = {
    "Group UID": "5002",
    "Group ID": "TR00002",
    "Group Name": "Beta Schools Trust",
    "Companies House Number": "08765432",
}
MAT = {"Group Type": "Multi-academy trust", "Group Type (code)": "06", "Group Status": "Open"}


def _gias_file(path: Path, header_file: str, rows: list[dict[str, str]]) -> Path:
    """GIAS's export style: every field quoted, CRLF, Windows-1252."""
    header = next(csv.reader(io.StringIO((HEADERS / header_file).read_text(encoding="utf-8-sig"))))
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[row.get(column, "") for column in header] for row in rows])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode("cp1252"))
    return path


def _member(urn: str, trust: dict[str, str], joined: str, name: str = "Oak Academy") -> dict[str, str]:
    return {"URN": urn, **trust, **MAT, "Joined date": joined, "EstablishmentName": name,
            "TypeOfEstablishment (name)": "Academy converter", "LA (code)": "202", "LA (name)": "Camden"}  # fmt: skip


def _establishment(urn: str, number: str, status: str, opened: str, closed: str, trust: str) -> dict[str, str]:
    flag = "Supported by a multi-academy trust" if trust else "Not applicable"
    return {"URN": urn, "LA (code)": "202", "EstablishmentNumber": number, "EstablishmentName": "Oak Academy",
            "TypeOfEstablishment (name)": "Academy converter", "EstablishmentStatus (name)": status,
            "OpenDate": opened, "CloseDate": closed, "PhaseOfEducation (name)": "Primary",
            "Trusts (code)": trust, "Trusts (name)": "Beta Schools Trust" if trust else "",
            "TrustSchoolFlag (name)": flag,
            "LastChangedDate": "15-01-2025"}  # fmt: skip


@pytest.fixture
def history(context: Context, tmp_path: Path) -> Context:
    files = [
        _gias_file(tmp_path / "1" / "allgroupslinksdata20210115.csv", "gias_all_links.header.csv",
                   [_member("140001", A, "01-09-2019"), _member("140777", A, "01-09-2019", "Elm Academy")]),
        _gias_file(tmp_path / "2" / "allgroupslinksdata20230115.csv", "gias_all_links.header.csv",
                   [_member("140001", B, "01-04-2022"), _member("140777", A, "01-09-2019", "Elm Academy")]),
        _gias_file(tmp_path / "3" / "allgroupslinksdata20250115.csv", "gias_all_links.header.csv",
                   [_member("150001", B, "01-09-2024"), _member("140777", A, "01-09-2019", "Elm Academy")]),
        _gias_file(tmp_path / "4" / "edubasealldata20250115.csv", "gias.header.csv",
                   [_establishment("140001", "2001", "Closed", "01-09-2013", "31-08-2024", ""),
                    _establishment("150001", "2002", "Open", "01-09-2024", "", "5002")]),
        _gias_file(tmp_path / "5" / "links_edubasealldata20250115.csv", "gias_links.header.csv",
                   [{"URN": "140001", "LinkURN": "150001", "LinkName": "Oak Academy", "LinkType": "Successor",
                     "LinkEstablishedDate": "01-09-2024"},
                    {"URN": "150001", "LinkURN": "140001", "LinkName": "Oak Academy", "LinkType": "Predecessor",
                     "LinkEstablishedDate": "01-09-2024"}]),
    ]  # fmt: skip
    for path in files:
        outcome = ingest_path(path, None, context)
        assert outcome.status == "loaded", outcome.message
    return context


def _versions(context: Context, urn: str) -> list[tuple]:
    dim = ledger.read_table(context.warehouse, "dim_school", f"urn = '{urn}'", "valid_from")
    return dim.select("valid_from", "valid_to", "trust_id", "is_open", "lineage_urn").rows()


def _members(context: Context, trust_id: str, day: str) -> list[str]:
    return ledger.query(
        context.warehouse,
        f"SELECT urn FROM dim_school WHERE trust_id = '{trust_id}' AND valid_from <= '{day}' "
        f"AND (valid_to IS NULL OR valid_to > '{day}') ORDER BY urn",
    )["urn"].to_list()


def test_each_version_of_the_school_has_the_right_dates_and_trust(history: Context) -> None:
    assert _versions(history, "140001") == [
        (date(2019, 9, 1), date(2022, 4, 1), "5001", True, "150001"),
        (date(2022, 4, 1), date(2024, 9, 1), "5002", True, "150001"),
        (date(2024, 9, 1), None, None, False, "150001"),
    ]
    assert _versions(history, "150001") == [(date(2024, 9, 1), None, "5002", True, "150001")]


def test_members_of_a_trust_at_a_date(history: Context) -> None:
    assert _members(history, "5002", "2024-01-18") == ["140001"]
    assert _members(history, "5001", "2024-01-18") == ["140777"]
    assert _members(history, "5001", "2021-06-01") == ["140001", "140777"]
    assert _members(history, "5002", "2025-01-16") == ["150001"]


def test_trusts_carry_their_group_reference_and_companies_house_number(history: Context) -> None:
    trusts = ledger.query(history.warehouse, "SELECT * FROM dim_trust ORDER BY trust_id")

    assert trusts.select("trust_id", "trust_ref", "companies_house_number", "trust_type").rows() == [
        ("5001", "TR00001", "07654321", "Multi-academy trust"),
        ("5002", "TR00002", "08765432", "Multi-academy trust"),
    ]


def test_memberships_are_published_as_spans(history: Context) -> None:
    spans = ledger.read_table(history.warehouse, "trust_membership", order_by="urn, member_from")

    assert spans.filter(pl.col("urn") == "140001").select("trust_id", "member_from", "member_to").rows() == [
        ("5001", date(2019, 9, 1), date(2022, 4, 1)),
        ("5002", date(2022, 4, 1), date(2025, 1, 15)),
    ]


def test_trust_summary_counts_each_school_in_the_trust_it_was_in_on_census_day(
    history: Context, tmp_path: Path
) -> None:
    header = "URN,LA,Estab,SCHOOLTYPE,NOR,TSENELSE,PSENELSE,TSENELK,PSENELK\n"
    rows = [  # (urn, pupils, ehc, sen support): census day 18 January 2024
        ("140001", 400, 20, 60),  # in trust B that day
        ("140777", 300, 6, 30),  # in trust A
        ("100100", 500, 10, 50),  # no trust: counts only towards Camden's rate
    ]
    body = "".join(
        f"{u},202,{2000 + i},State-funded primary,{n},{e},{100 * e / n},{k},{100 * k / n}\n"
        for i, (u, n, e, k) in enumerate(rows)
    )
    census = tmp_path / "england_census_2023-24.csv"
    census.write_text(header + body)
    assert ingest_path(census, None, history).status == "loaded"

    summary = ledger.query(history.warehouse, "SELECT * FROM v_trust_send_summary ORDER BY trust_id")

    beta = summary.filter(pl.col("trust_id") == "5002").row(0, named=True)
    assert (beta["trust_name"], beta["schools"], beta["total_pupils"], beta["ehc_plan"]) == (
        "Beta Schools Trust", 1, 400, 20,
    )  # fmt: skip
    assert beta["ehc_plan_pct"] == pytest.approx(5.0)
    camden_rate = 100 * (20 + 6 + 10) / (400 + 300 + 500)
    assert beta["la_ehc_plan_pct"] == pytest.approx(camden_rate)
    assert beta["national_ehc_plan_pct"] == pytest.approx(camden_rate)  # the only LA loaded
    assert summary.filter(pl.col("trust_id") == "5001")["total_pupils"].to_list() == [300]
