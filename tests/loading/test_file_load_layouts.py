"""The other real layouts end to end: a GIAS establishment extract (cp1252, every field quoted, CRLF, with
trusts) and the DfE SEN school-level underlying data, each built in its exact published header.

No real rows of either are public in ../shared, so the rows here are invented around real schools."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from sendflow.loading.file_load import Context, ingest_path
from sendflow.warehouse import ledger
from tests.conftest import PROJECT, SAMPLE_DIR, count_rows

HEADERS = PROJECT / "tests" / "fixtures" / "headers"


def _header(name: str) -> list[str]:
    return next(csv.reader(io.StringIO((HEADERS / name).read_text(encoding="utf-8-sig"))))


def _gias_extract(path: Path, schools: list[dict[str, str]]) -> Path:
    """GIAS's own shape: all 140 columns, every field quoted, CRLF, Windows-1252, DD-MM-YYYY dates."""
    header = _header("gias.header.csv")
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    for school in schools:
        writer.writerow([school.get(column, "") for column in header])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode("cp1252"))
    return path


def _school(urn: str, number: str, name: str, trust: tuple[str, str] | None, changed: str) -> dict[str, str]:
    row = {
        "URN": urn, "LA (code)": "202", "LA (name)": "Camden", "EstablishmentNumber": number,
        "EstablishmentName": name, "TypeOfEstablishment (name)": "Academy converter",
        "EstablishmentTypeGroup (name)": "Academies", "EstablishmentStatus (name)": "Open",
        "OpenDate": "01-09-2012", "CloseDate": "", "PhaseOfEducation (name)": "Primary",
        "StatutoryLowAge": "3", "StatutoryHighAge": "11", "LastChangedDate": changed,
        "HeadFirstName": "Jane", "HeadLastName": "Example", "Postcode": "NW1 1AA",
        "TrustSchoolFlag (name)": "Not applicable",
    }  # fmt: skip
    if trust:
        row |= {
            "Trusts (code)": trust[0],
            "Trusts (name)": trust[1],
            "TrustSchoolFlag (name)": "Supported by a multi-academy trust",
        }
    return row


def test_gias_extract_loads_trusts_and_history_in_windows_1252(context: Context, tmp_path: Path) -> None:
    first = [
        _school("100010", "2001", "Église Primary Academy", ("5001", "Camden Learning Trust"), "03-03-2024"),
        _school("100011", "2002", "Heath\u00a0Academy", None, "01-02-2024"),
    ]
    later = [
        _school("100010", "2001", "Église Primary Academy", ("5002", "North London Schools Trust"), "10-03-2025"),
        _school("100011", "2002", "Heath\u00a0Academy", None, "01-02-2024"),
    ]
    assert ingest_path(_gias_extract(tmp_path / "a" / "edubasealldata20240405.csv", first), None, context).ok
    outcome = ingest_path(_gias_extract(tmp_path / "b" / "edubasealldata20250422.csv", later), None, context)

    assert outcome.status == "loaded", outcome.message
    history = ledger.query(
        context.warehouse, "SELECT urn, trust_id, valid_from, valid_to, is_current, school_name FROM dim_school "
        "ORDER BY urn, valid_from",
    )  # fmt: skip
    moved = history.filter(pl.col("urn") == "100010")
    assert moved["trust_id"].to_list() == ["5001", "5002"]
    assert [str(d) for d in moved["valid_from"]] == ["2024-04-05", "2025-04-22"]
    assert str(moved["valid_to"][0]) == "2025-04-22" and moved["valid_to"][1] is None
    assert history.filter(pl.col("urn") == "100011").height == 1
    assert "Heath\u00a0Academy" in history["school_name"].to_list()
    trusts = ledger.query(context.warehouse, "SELECT * FROM dim_trust ORDER BY trust_id")
    assert trusts.select("trust_id", "trust_name", "trust_type").rows() == [
        ("5001", "Camden Learning Trust", "Multi-academy trust"),
        ("5002", "North London Schools Trust", "Multi-academy trust"),
    ]


def test_no_personal_data_of_head_teachers_reaches_the_warehouse(context: Context, tmp_path: Path) -> None:
    bad_row = _school("10001", "2001", "Short URN School", None, "03-03-2024")  # fails: URN is 5 digits
    good = [_school(f"1000{i:02d}", f"20{i:02d}", f"School {i}", None, "03-03-2024") for i in range(10, 40)]
    path = _gias_extract(tmp_path / "edubasealldata20240405.csv", [bad_row, *good])

    outcome = ingest_path(path, None, context)

    assert outcome.status == "loaded" and outcome.rows_quarantined == 1
    record = ledger.query(context.warehouse, "SELECT record FROM etl_quarantine")["record"][0]
    assert "10001" in record and "Jane" not in record and "Example" not in record and "NW1" not in record
    silver = pl.read_parquet(next((context.lake.silver / "school_register_snapshot").rglob("*.parquet")))
    assert not any("Jane" in str(v) for v in silver.row(0))


def _sen_underlying(path: Path) -> Path:
    header = _header("sen.header.csv")
    census = pl.read_csv(SAMPLE_DIR / "england_census_2023-24.csv", infer_schema=False)
    schools = census.filter(pl.col("URN") != "NAT").head(25)
    rows = []
    for school in schools.iter_rows(named=True):
        ehc, support = int(school["TSENELSE"]), int(school["TSENELK"])
        row = dict.fromkeys(header, "z")
        row |= {
            "time_period": "202223", "time_identifier": "Academic year", "geographic_level": "School",
            "old_la_code": school["LA"], "URN": school["URN"], "estab": school["Estab"],
            "laestab": school["LA"] + school["Estab"], "type_of_establishment": school["SCHOOLTYPE"],
            "Total pupils": school["NOR"], "SEN support": str(support), "EHC plan": str(ehc),
            "EHC_Primary_need_asd": str(ehc), "SUP_Primary_need_slcn": str(support), "SUP_Primary_need_asd": "0",
        }  # fmt: skip
        rows.append([row[column] for column in header])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def test_sen_underlying_data_loads_primary_needs(context: Context, tmp_path: Path) -> None:
    path = _sen_underlying(tmp_path / "sen_school_level_ud.csv")

    outcome = ingest_path(path, None, context)

    assert outcome.status == "loaded", outcome.message
    assert outcome.partitions == ({"academic_year": "2022/23"},)
    needs = ledger.query(
        context.warehouse,
        "SELECT SUM(ehc_plan) AS ehc, SUM(ehc_primary_need_asd) AS asd, SUM(sen_support) AS k, "
        "SUM(sen_support_primary_need_slcn) AS slcn, COUNT(ehc_primary_need_mld) AS mld_known FROM fct_school_census",
    ).row(0, named=True)
    assert needs["ehc"] == needs["asd"] and needs["k"] == needs["slcn"]
    assert needs["mld_known"] == 0  # 'z' (not applicable) is NULL, never 0
    assert count_rows(context.warehouse, "fct_school_census", "WHERE ehc_plan_pct IS NULL AND total_pupils > 0") == 0


def test_sen_underlying_data_disagreeing_with_the_given_year_is_rejected(context: Context, tmp_path: Path) -> None:
    path = _sen_underlying(tmp_path / "sen_school_level_ud.csv")

    outcome = ingest_path(path, "2023/24", context)

    assert outcome.status == "rejected" and "2022/23" in outcome.message and "2023/24" in outcome.message
