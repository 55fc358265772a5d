"""Intake: decoding offered bytes, reading them as text tables, and telling which dataset a header belongs to."""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from sendflow.core.files import sha256_of
from sendflow.intake.decoding import decode
from sendflow.intake.header import header_names, identify
from sendflow.intake.names import academic_year_for, snapshot_date_in_name
from sendflow.intake.raw import Rejection
from sendflow.intake.reader import read_table
from sendflow.registry.datasets import DATASETS, all_layouts
from sendflow.transforms.common import SOURCE_ROW

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample"
CENSUS_HEADER = ["URN", "LA", "ESTAB", "SCHOOLTYPE", "NOR", "TSENELSE", "PSENELSE", "TSENELK", "PSENELK"]


def _workbook(path: Path, sheets: list[tuple[str, Sequence[Sequence[object]]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


# --- decode -----------------------------------------------------------------------------------------------------


def test_decode_strips_utf8_bom_and_reports_utf8_sig() -> None:
    decoded = decode(codecs.BOM_UTF8 + "URN,SCHNAME\n100000,Saint-Étienne\n".encode(), "f.csv")

    assert decoded.encoding == "utf-8-sig"
    assert decoded.text == "URN,SCHNAME\n100000,Saint-Étienne\n"


def test_decode_plain_utf8() -> None:
    decoded = decode("URN,SCHNAME\n100000,Saint-Étienne\n".encode(), "f.csv")

    assert decoded.encoding == "utf-8"
    assert decoded.text.endswith("Saint-Étienne\n")


def test_decode_falls_back_to_windows_1252_for_gias_exports() -> None:
    # 0x92 is a curly apostrophe only in cp1252 (a C1 control in Latin-1), so this pins the codec, not just "8-bit".
    data = b"URN,SCHNAME\n100000,Ecole \xe0\xa0Londres\n100001,St Mary\x92s\n"

    decoded = decode(data, "edubase.csv")

    assert decoded.encoding == "cp1252"
    assert "Ecole à\u00a0Londres" in decoded.text
    assert "St Mary\u2019s" in decoded.text


@pytest.mark.parametrize("bom", [codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE], ids=["le", "be"])
def test_decode_rejects_utf16_telling_the_user_to_save_as_csv_utf8(bom: bytes) -> None:
    data = bom + "URN,LA\n1,2\n".encode("utf-16-le" if bom == codecs.BOM_UTF16_LE else "utf-16-be")

    with pytest.raises(Rejection, match="UTF-16") as raised:
        decode(data, "unicode_text.csv")

    assert "CSV UTF-8" in str(raised.value)
    assert "unicode_text.csv" in str(raised.value)


def test_decode_rejects_bytes_neither_utf8_nor_cp1252_naming_the_line() -> None:
    # 0x81 is one of the five bytes cp1252 leaves undefined, so no fallback can decode it.
    data = b"URN,SCHNAME\n100000,A school\n100001,B\x81 school\n"

    with pytest.raises(Rejection) as raised:
        decode(data, "mixed.csv")

    message = str(raised.value)
    assert "mixed.csv" in message
    assert "0x81" in message
    assert "line 3" in message


def test_decode_rejects_invalid_utf8_after_a_bom() -> None:
    data = codecs.BOM_UTF8 + b"URN,SCHNAME\n100000,Ecole \xe0 Londres\n"

    with pytest.raises(Rejection, match="line 2"):
        decode(data, "bom_then_cp1252.csv")


# --- reading CSV ------------------------------------------------------------------------------------------------


def test_read_table_csv_keeps_every_column_as_text(tmp_path: Path) -> None:
    path = tmp_path / "census.csv"
    path.write_bytes(b"URN,LA,NOR,PSENELK\n100000,0201,244,0.24\n100001,202,NA,\n")

    raw = read_table(path, all_layouts())

    assert raw.file_format == "csv"
    assert {name: dtype for name, dtype in raw.frame.schema.items() if name != SOURCE_ROW} == {
        "URN": pl.String,
        "LA": pl.String,
        "NOR": pl.String,
        "PSENELK": pl.String,
    }
    # Leading zeros and publisher symbols are data: reading must not coerce them away.
    assert raw.frame["LA"].to_list() == ["0201", "202"]
    assert raw.frame["NOR"].to_list() == ["244", "NA"]


def test_read_table_numbers_rows_from_two_because_the_header_is_row_one(tmp_path: Path) -> None:
    path = tmp_path / "census.csv"
    path.write_bytes(b"URN,LA\n100000,201\n100001,202\n100002,203\n")

    raw = read_table(path, all_layouts())

    assert raw.frame.schema[SOURCE_ROW] == pl.Int64
    assert raw.frame[SOURCE_ROW].to_list() == [2, 3, 4]


def test_read_table_strips_bom_from_first_header_name(tmp_path: Path) -> None:
    path = tmp_path / "census.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"URN,LA\n100000,201\n")

    raw = read_table(path, all_layouts())

    assert raw.encoding == "utf-8-sig"
    assert raw.header == ["URN", "LA"]


def test_read_table_strips_spaces_around_header_names(tmp_path: Path) -> None:
    path = tmp_path / "census.csv"
    path.write_bytes(b" URN , LA\n100000,201\n")

    assert read_table(path, all_layouts()).header == ["URN", "LA"]


def test_read_table_decodes_windows_1252_csv(tmp_path: Path) -> None:
    path = tmp_path / "edubasealldata20250422.csv"
    path.write_bytes(b"URN,EstablishmentName\n100000,Ecole \xe0\xa0Londres\n")

    raw = read_table(path, all_layouts())

    assert raw.encoding == "cp1252"
    assert raw.frame["EstablishmentName"].to_list() == ["Ecole à\u00a0Londres"]


def test_read_table_rejects_an_unterminated_quote_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken_census.csv"
    path.write_bytes(b'URN,LA\n"100000,201\n100001,202\n')

    with pytest.raises(Rejection, match=re.escape("broken_census.csv")):
        read_table(path, all_layouts())


def test_read_table_reads_a_ragged_row_and_names_its_line_to_be_held_back(tmp_path: Path) -> None:
    path = tmp_path / "ragged_census.csv"
    path.write_bytes(b"URN,LA\n100000,201\n100001,202,extra,fields\n100002\n100003,204\n")

    raw = read_table(path, all_layouts())

    assert raw.frame["URN"].to_list() == ["100000", "100001", "100002", "100003"]
    assert raw.ragged is not None
    assert raw.ragged.select(SOURCE_ROW, "reasons").rows() == [
        (3, "row_has_the_header_s_fields (the row has 4 fields, the header 2)"),
        (4, "row_has_the_header_s_fields (the row has 1 field, the header 2)"),
    ]


def test_read_table_rejects_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")

    with pytest.raises(Rejection, match=re.escape("empty.csv")):
        read_table(path, all_layouts())


def test_header_names_equal_after_stripping_are_numbered(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_bytes(b"URN,URN \n100000,100001\n")

    assert read_table(path, all_layouts()).header == ["URN", "URN [2]"]


def test_a_required_column_given_twice_is_rejected_as_ambiguous() -> None:
    header = [*CENSUS_HEADER, "NOR "]

    with pytest.raises(Rejection, match=r"column NOR appears more than once"):
        identify(header_names(header), all_layouts(), "twice.csv")


# --- reading spreadsheets ---------------------------------------------------------------------------------------


def test_read_table_xlsx_picks_the_sheet_whose_header_matches_a_layout(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "census.xlsx",
        [
            ("Notes", [["About this file"], ["Source: DfE performance tables"]]),
            (
                "Data",
                [
                    CENSUS_HEADER,
                    [100000, "0201", 3614, "State-funded primary", 244, 11, 4.5, 59, 24.2],
                    ["100001", "202", None, "Independent school", "NA", 0, 0, 100, 13.1],
                ],
            ),
        ],
    )

    raw = read_table(path, all_layouts())

    assert raw.sheet == "Data"
    assert raw.file_format == "xlsx"
    assert raw.encoding is None
    assert raw.header == CENSUS_HEADER
    assert all(dtype == pl.String for name, dtype in raw.frame.schema.items() if name != SOURCE_ROW)
    assert raw.frame[SOURCE_ROW].to_list() == [2, 3]
    # Numeric cells must come out as the text a CSV would carry, not '100000.0'.
    assert raw.frame["URN"].to_list() == ["100000", "100001"]
    assert raw.frame["LA"].to_list() == ["0201", "202"]
    assert raw.frame["PSENELSE"].to_list() == ["4.5", "0"]
    assert raw.frame["NOR"].to_list() == ["244", "NA"]


def test_read_table_recognises_a_workbook_by_its_bytes_not_its_name(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "census_download", [("Data", [CENSUS_HEADER, list(range(9))])])

    raw = read_table(path, all_layouts())

    assert raw.sheet == "Data"
    assert raw.header == CENSUS_HEADER


def test_read_table_reports_xlsx_format_for_a_workbook_named_csv(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "census.csv", [("Data", [CENSUS_HEADER, list(range(9))])])

    raw = read_table(path, all_layouts())

    assert raw.sheet == "Data"
    assert raw.file_format == "xlsx"


def test_read_table_rejects_text_named_as_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "census.xlsx"
    path.write_bytes(b"URN,LA\n100000,201\n")

    with pytest.raises(Rejection, match=re.escape("census.xlsx")):
        read_table(path, all_layouts())


def test_read_table_skips_an_empty_sheet_before_the_data(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "census.xlsx", [("Sheet1", []), ("Data", [CENSUS_HEADER, list(range(9))])])

    raw = read_table(path, all_layouts())

    assert raw.sheet == "Data"


# --- identify ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "dataset", "layout"),
    [
        ("england_census_2018-19.csv", "school_census", "perf_tables_census"),
        ("england_census_2023-24.csv", "school_census", "perf_tables_census"),
        ("england_school_information_2023-24.csv", "school_register", "perf_tables_school_information"),
    ],
)
def test_identify_recognises_the_dfe_sample_files(file_name: str, dataset: str, layout: str) -> None:
    raw = read_table(SAMPLE_DIR / file_name, all_layouts())

    found = identify(raw.header, all_layouts(), file_name)

    assert (found.layout.dataset, found.layout.name, found.missing) == (dataset, layout, ())


@pytest.mark.parametrize(
    ("header", "layout"),
    [
        (
            [" urn ", "la", "Estab", "schooltype", "Nor", "tsenelse", "PSENELSE", "TSENELK ", "psenelk"],
            "perf_tables_census",
        ),
        (
            ["time_period", "OLD_LA_CODE", "urn", "Estab", "total_pupils", "SEN_support", "EHC  plan"],
            "sen_school_level_underlying",
        ),
    ],
    ids=["case-and-padding", "underscores-for-spaces"],
)
def test_identify_ignores_case_spacing_and_underscores(header: list[str], layout: str) -> None:
    found = identify(header, all_layouts(), "renamed.csv")

    assert found.layout.name == layout
    assert found.missing == ()


def test_identify_rejects_unknown_header_listing_every_dataset_in_its_details() -> None:
    with pytest.raises(Rejection) as raised:
        identify(["Name", "Address", "Postcode"], all_layouts(), "contacts.csv")

    message = str(raised.value)
    assert "contacts.csv" in message
    assert "unknown header" in message
    assert "Postcode" in message
    for dataset in DATASETS:
        assert dataset.name in (raised.value.details or "")


def test_identify_rejects_header_sharing_too_few_columns() -> None:
    # URN and LA appear in every layout; on their own they say nothing about which dataset this is.
    with pytest.raises(Rejection, match="unknown header"):
        identify(["URN", "LA", "Comments"], all_layouts(), "notes.csv")


def test_identify_names_the_missing_required_column() -> None:
    header = [c for c in CENSUS_HEADER if c != "TSENELK"] + ["NORG", "NORB"]

    found = identify(header, all_layouts(), "census.csv")

    assert found.layout.dataset == "school_census"
    assert found.layout.name == "perf_tables_census"
    assert found.missing == ("TSENELK",)


# --- years, dates, hashes ---------------------------------------------------------------------------------------


def test_academic_year_given_explicitly_wins_over_the_file_name() -> None:
    assert academic_year_for(Path("england_census_2023-24.csv"), "2018/19") == "2018/19"


@pytest.mark.parametrize(
    "name", ["england_census_2023-24.csv", "england_census_2023-2024.csv", "england_census_202324.csv"]
)
def test_academic_year_read_from_file_name(name: str) -> None:
    assert academic_year_for(Path(name), None) == "2023/24"


def test_academic_year_read_from_parent_folder() -> None:
    assert academic_year_for(Path("2018-19/england_census.csv"), None) == "2018/19"


def test_academic_year_in_file_name_beats_folder() -> None:
    assert academic_year_for(Path("2018-19/england_census_2023-24.csv"), None) == "2023/24"


@pytest.mark.parametrize("name", ["england_census.csv", "edubasealldata20250422.csv", "census_2023-25.csv"])
def test_academic_year_absent_is_none(name: str) -> None:
    # A snapshot date or two non-consecutive years must not be mistaken for an academic year.
    assert academic_year_for(Path(name), None) is None


def test_snapshot_date_read_from_gias_file_name() -> None:
    assert snapshot_date_in_name(Path("edubasealldata20250422.csv")) == date(2025, 4, 22)


@pytest.mark.parametrize("name", ["edubasealldata20251332.csv", "england_census_2023-24.csv", "extract.csv"])
def test_snapshot_date_absent_or_invalid_is_none(name: str) -> None:
    assert snapshot_date_in_name(Path(name)) is None


def test_sha256_of_matches_hashlib_across_read_blocks(tmp_path: Path) -> None:
    # Larger than the 1 MiB read block, so a file hashed in several pieces must still match a one-shot hash.
    data = bytes(range(256)) * (5 * 4096 + 7)
    path = tmp_path / "big.csv"
    path.write_bytes(data)

    assert sha256_of(path) == hashlib.sha256(data).hexdigest()


def test_decode_refuses_a_mixed_utf8_and_cp1252_file_rather_than_garble_it() -> None:
    data = "URN,SCHNAME\n100000,École\n".encode() + b"100001,Caf\xe9\n"

    with pytest.raises(Rejection, match=r"line 3.*mixed encodings"):
        decode(data, "mixed.csv")


def test_a_file_cut_off_mid_row_is_refused_naming_the_row(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    path.write_bytes(b"URN,LA,NOR,TSENELK\n100000,201,10,1\n100001,201\n")

    with pytest.raises(Rejection, match=r"^cut.csv: row 3 has 2 of the header's 4 fields; the file looks truncated$"):
        read_table(path, all_layouts())


def test_trailing_empty_fields_are_not_mistaken_for_truncation(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_bytes(b"URN,LA,NOR,TSENELK\n100000,201,10,1\n100001,201,,\n")

    assert read_table(path, all_layouts()).frame.height == 2


LINKS_2017_HEADER = (
    '"URN","Linked UID","Group Name","Companies House Number","Group Type","Closed Date","Group Status",'
    '"FederationType","Joined date","EstablishmentName","TypeOfEstablishment (code)","TypeOfEstablishment (name)",'
    '"PhaseOfEducation (code)","PhaseOfEducation (name)","LA (code)","LA (name)","HasSharedHT"'
)


def _links_2017_row(urn: str, *, short_by: int = 1) -> str:
    fields = [urn, "4782", "St Paul's Academy Limited", "05210075", "Single-academy trust", "", "Open", "",
              "01-09-2005", "St Paul's Academy", "28", "Academy Sponsor Led", "4", "Secondary", "203", "Greenwich",
              ""]  # fmt: skip
    return ",".join(f'"{field}"' for field in fields[: len(fields) - short_by])


@pytest.mark.parametrize("size", ["small", "large"])
def test_rows_may_leave_out_the_columns_a_layout_says_and_no_other(tmp_path: Path, size: str) -> None:
    """GIAS's 2017 academy links: no row carries the header's last column, and no newline ends the last row.
    Those rows are sound, whether the file is read whole or in pieces; a row short of one more is held back."""
    rows = [_links_2017_row(str(105135 + n)) for n in range(3)] + [_links_2017_row("105200", short_by=2)]
    rows += [_links_2017_row(str(106000 + n)) for n in range(30_000 if size == "large" else 2)]  # > 1 MiB: in pieces
    path = tmp_path / "grouplinks_edubaseallacademiesandfree20170403.csv"
    path.write_bytes("\r\n".join([LINKS_2017_HEADER, *rows]).encode("cp1252"))

    raw = read_table(path, all_layouts())

    assert identify(raw.header, all_layouts(), path.name).layout.name == "gias_academy_links_2017"
    assert raw.fewest_fields == 16 and raw.ragged is not None
    assert raw.ragged.select(SOURCE_ROW, "reasons").rows() == [
        (5, "row_has_the_header_s_fields (the row has 15 fields, the header 17)")
    ]
    assert raw.frame["HasSharedHT"].null_count() == raw.frame.height


def test_a_last_row_short_of_more_than_the_layout_allows_is_still_truncation(tmp_path: Path) -> None:
    path = tmp_path / "grouplinks_edubaseallacademiesandfree20170403.csv"
    path.write_bytes(
        "\r\n".join([LINKS_2017_HEADER, _links_2017_row("105135"), _links_2017_row("105136", short_by=3)]).encode()
    )

    with pytest.raises(Rejection, match="row 3 has 14 of the header's 17 fields; the file looks truncated"):
        read_table(path, all_layouts())
