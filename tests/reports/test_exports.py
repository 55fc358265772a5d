"""CSV and XLSX exports: text a spreadsheet would run as a formula is made inert; numbers stay numbers."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import openpyxl
import polars as pl

from sendflow.reports import exports
from sendflow.reports.model import Column, ReportTable, TrustData
from sendflow.reports.sections.schools import schools

DANGEROUS = ['=HYPERLINK("x")', "+44 1234", "-cmd", "@SUM(A1)", "\tTabbed", "\rReturned"]


def _table() -> ReportTable:
    names = [*DANGEROUS, "Oak Academy"]
    frame = pl.DataFrame(
        {"school_name": names, "pupils": [-5, 3, 0, 12, 7, 8, 900], "pct": [-1.5, 2.25, 0.0, 1.0, 2.0, 3.0, 4.5]}
    )
    columns = (Column("school_name", "School", "text"), Column("pupils", "Pupils", "count"),
               Column("pct", "Share %", "pct"))  # fmt: skip
    return ReportTable("schools", "Schools", columns, frame, origin="pupil-level", hidden=frozenset({(1, "pupils")}))


def test_formula_text_is_inert_in_csv_and_numbers_stay_numbers() -> None:
    rows = list(csv.reader(io.StringIO(exports.csv_text(_table()), newline="")))

    assert rows[0] == ["school_name", "pupils", "pct"]
    assert [row[0] for row in rows[1:-1]] == ["'" + text for text in DANGEROUS]
    assert rows[-1] == ["Oak Academy", "900", "4.5"]
    assert rows[1][1:] == ["-5", "-1.5"]  # a negative number is a number, not text to defuse
    assert rows[2][1] == "c"  # hidden for disclosure, as on the page


def test_formula_text_is_a_plain_quote_prefixed_string_in_xlsx(tmp_path: Path) -> None:
    path = exports.write_xlsx([_table()], tmp_path / "tables.xlsx", [("note", "=1+1")])
    with zipfile.ZipFile(path) as archive:
        sheets = [archive.read(name).decode() for name in archive.namelist() if name.startswith("xl/worksheets/")]
    assert sheets and not any("<f>" in sheet or "<f " in sheet for sheet in sheets)  # no formula anywhere

    book = openpyxl.load_workbook(path)
    sheet = book["schools"]
    assert [sheet.cell(1, c).value for c in (1, 2, 3)] == ["School", "Pupils", "Share %"]
    for row, text in enumerate(DANGEROUS, start=2):
        cell = sheet.cell(row, 1)
        # XML readers turn a carriage return into a line feed; the cell is a quote-prefixed string either way.
        assert (cell.value, cell.data_type, cell.quotePrefix) == (text.replace("\r", "\n"), "s", True)
    assert (sheet.cell(2, 2).value, sheet.cell(2, 2).data_type) == (-5, "n")
    assert (sheet.cell(2, 3).value, sheet.cell(2, 3).data_type) == (-1.5, "n")
    assert sheet.cell(3, 2).value == "c"
    assert (book["about"].cell(1, 2).value, book["about"].cell(1, 2).data_type) == ("=1+1", "s")


def test_a_school_named_like_a_formula_exports_as_inert_text(tmp_path: Path) -> None:
    """From the census rows through the report's schools table to both files."""
    members = pl.DataFrame(
        {
            "urn": ["100001"], "academic_year": ["2023/24"], "la_code": ["202"], "la_name": ["Camden"],
            "school_name": ['=HYPERLINK("x")'], "school_type": ["State-funded primary"], "total_pupils": [200],
            "total_pupils_status": [None], "ehc_plan": [8], "ehc_plan_status": [None], "sen_support": [30],
            "sen_support_status": [None], "ehc_plan_pct": [4.0], "sen_support_pct": [15.0],
        },
        schema_overrides={"total_pupils_status": pl.String, "ehc_plan_status": pl.String,
                          "sen_support_status": pl.String},
    )  # fmt: skip
    la = pl.DataFrame(
        {"la_code": ["202"], "academic_year": ["2023/24"], "ehc_plan_pct": [3.7], "sen_support_pct": [14.5]}
    )
    national = pl.DataFrame({"academic_year": ["2023/24"], "ehc_plan_pct": [4.5], "sen_support_pct": [13.1]})
    data = TrustData("1", "T", None, None, "2023/24", members, la, national, pl.DataFrame())
    table = schools(data, 5.0)

    row = next(csv.DictReader(io.StringIO(exports.csv_text(table))))
    assert row["school_name"] == '\'=HYPERLINK("x")' and row["total_pupils"] == "200"
    sheet = openpyxl.load_workbook(exports.write_xlsx([table], tmp_path / "t.xlsx"))["schools"]
    assert (sheet.cell(2, 1).value, sheet.cell(2, 1).data_type) == ('=HYPERLINK("x")', "s")
    assert (sheet.cell(2, 5).value, sheet.cell(2, 5).data_type) == (200, "n")
