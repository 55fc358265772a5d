"""Workbooks read as a careful reader would, on hostile and odd workbooks built here byte by byte.

Each case goes through the production entry points (intake.reader.read_table / read_head, or
loading.file_load.ingest_path into a temporary warehouse) and asserts the exact outcome. The builders write
the zip and XML themselves (openpyxl cannot write a formula's cached value, a very hidden sheet's XML or a
lying part), an ODS, a minimal OLE compound file, and a minimal BIFF8 (.xls) workbook stream.
"""

from __future__ import annotations

import csv
import itertools
import struct
import time
import zipfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from sendflow.core.settings import Settings
from sendflow.intake.limits import SheetLimits
from sendflow.intake.raw import RawTable, Rejection
from sendflow.intake.reader import read_head, read_table
from sendflow.loading.file_load import Context, ingest_path
from sendflow.registry.datasets import all_layouts
from sendflow.transforms.common import SOURCE_ROW
from sendflow.warehouse import ledger
from sendflow.warehouse.schema import ensure_schema
from tests.conftest import SAMPLE_DIR

HEADER = ["URN", "LA", "ESTAB", "SCHOOLTYPE", "NOR", "TSENELSE", "PSENELSE", "TSENELK", "PSENELK"]
SCHOOLS: list[list[Any]] = [
    [100000, 201, 3614, "State-funded primary", 244, 11, 0.045, 59, 0.24],
    [100001, 201, 6005, "Independent school", 764, 0, 0, 100, 0.13],
    [100002, 202, 1234, "State-funded primary", 300, 5, 0.0167, 30, 0.1],
]
CENSUS_NAME = "england_census_2023-24.xlsx"
LIMITS = SheetLimits.from_settings(Settings())

# --- builders ---------------------------------------------------------------------------------------------------

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"


class Raw(str):
    """A cell written as given: '{ref}' stands for its reference."""


def _column(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _cell(row: int, column: int, value: object) -> str:
    ref = f"{_column(column)}{row}"
    if isinstance(value, Raw):
        return value.replace("{ref}", ref)
    if isinstance(value, str):
        return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
    return f'<c r="{ref}"><v>{value}</v></c>'


def _sheet_data(rows: Sequence[Sequence[Any]], first_row: int = 1, first_column: int = 0) -> str:
    lines = []
    for number, values in enumerate(rows, start=first_row):
        cells = "".join(_cell(number, first_column + i, v) for i, v in enumerate(values) if v is not None)
        lines.append(f'<row r="{number}">{cells}</row>')
    return "<sheetData>" + "".join(lines) + "</sheetData>"


def _xlsx(
    path: Path,
    sheets: Sequence[tuple[str, str]],
    *,
    states: dict[str, str] | None = None,
    shared: Sequence[str] = (),
    styles: str | None = None,
    members: dict[str, bytes] | None = None,
) -> Path:
    """A workbook from each sheet's name and worksheet body (what goes inside <worksheet>)."""
    states = states or {}
    listed = "".join(
        f'<sheet name="{escape(name)}" sheetId="{i + 1}" r:id="rId{i + 1}"'
        + (f' state="{states[name]}"' if name in states else "")
        + "/>"
        for i, (name, _) in enumerate(sheets)
    )
    relationships = "".join(
        f'<Relationship Id="rId{i + 1}" Type="{RELS}/worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
        for i in range(len(sheets))
    )
    relationships += f'<Relationship Id="rIdS" Type="{RELS}/sharedStrings" Target="sharedStrings.xml"/>'
    relationships += f'<Relationship Id="rIdY" Type="{RELS}/styles" Target="styles.xml"/>'
    strings = "".join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in shared)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" Type="{RELS}/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml", f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>{listed}</sheets></workbook>'
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{PACKAGE}">{relationships}</Relationships>'
        )
        for i, (_, body) in enumerate(sheets):
            archive.writestr(f"xl/worksheets/sheet{i + 1}.xml", f'<worksheet xmlns="{MAIN}">{body}</worksheet>')
        members = {
            "xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">{strings}</sst>'.encode(),
            "xl/styles.xml": (styles or f'<styleSheet xmlns="{MAIN}"><cellXfs><xf/></cellXfs></styleSheet>').encode(),
            **(members or {}),
        }
        for name, body_bytes in members.items():
            archive.writestr(name, body_bytes)
    return path


def _census(rows: Sequence[Sequence[Any]] = SCHOOLS) -> str:
    return _sheet_data([HEADER, *rows])


ODS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
ODS_NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    f'xmlns:table="{ODS_TABLE}"'
)


def _ods_cell(value: object) -> str:
    if isinstance(value, Raw):
        return str(value)
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, str):
        return f'<table:table-cell office:value-type="string"><text:p>{escape(value)}</text:p></table:table-cell>'
    return f'<table:table-cell office:value-type="float" office:value="{value}"/>'


def _ods_rows(rows: Sequence[Sequence[Any]]) -> str:
    return "".join("<table:table-row>" + "".join(_ods_cell(v) for v in row) + "</table:table-row>" for row in rows)


def _ods(path: Path, tables: Sequence[tuple[str, str]], hidden: Sequence[str] = (), encrypted: bool = False) -> Path:
    """An ODS (without the 'mimetype' member, like ESFA's) from each table's name and rows' XML."""
    styles = "".join(
        f'<style:style style:name="ta{i}" style:family="table"><style:table-properties '
        f'table:display="{"false" if name in hidden else "true"}"/></style:style>'
        for i, (name, _) in enumerate(tables)
    )
    body = "".join(
        f'<table:table table:name="{name}" table:style-name="ta{i}">{rows}</table:table>'
        for i, (name, rows) in enumerate(tables)
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ODS_NAMESPACES}>'
        f"<office:automatic-styles>{styles}</office:automatic-styles>"
        f"<office:body><office:spreadsheet>{body}</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        + ('<manifest:file-entry manifest:full-path="content.xml"><manifest:encryption-data/></manifest:file-entry>'
           if encrypted else "")
        + "</manifest:manifest>"
    )  # fmt: skip
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("content.xml", content)
        archive.writestr("META-INF/manifest.xml", manifest)
    return path


def _compound_file(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE compound file: 512-byte sectors, one FAT sector, one directory sector (three streams at
    most), each stream padded to 4,096 bytes so that it lives in ordinary sectors."""
    size, end, fat_sector, free = 512, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    entries = [("Root Entry", 5, end, 0)]
    data, chains, following = b"", [], 2  # sector 0 holds the FAT, sector 1 the directory
    for name, body in streams.items():
        body = body.ljust(4096, b"\0")
        count = -(-len(body) // size)
        entries.append((name, 2, following, len(body)))
        chains.append((following, count))
        data += body.ljust(count * size, b"\0")
        following += count
    fat = [fat_sector, end] + [free] * (following - 2)
    for start, count in chains:
        for i in range(count):
            fat[start + i] = start + i + 1 if i < count - 1 else end
    fat += [free] * (size // 4 - len(fat))

    def entry(index: int, name: str, kind: int, start: int, length: int) -> bytes:
        encoded = name.encode("utf-16-le") + b"\0\0"
        child = 1 if index == 0 and len(entries) > 1 else free
        right = index + 1 if 0 < index < len(entries) - 1 else free
        links = struct.pack("<III", free, right, child)
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBB", len(encoded), kind, 1)
            + links
            + bytes(36)
            + struct.pack("<IQ", start, length)
        )

    directory = b"".join(entry(i, *e) for i, e in enumerate(entries)).ljust(size, b"\0")
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16) + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
        + struct.pack("<9I", 0, 1, 1, 0, 4096, end, 0, end, 0) + struct.pack("<109I", 0, *[free] * 108)
    )  # fmt: skip
    return header + struct.pack(f"<{size // 4}I", *fat) + directory + data


def _record(kind: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _biff(sheets: Sequence[tuple[str, int, Sequence[tuple[int, int, object]]]]) -> bytes:
    """A BIFF8 workbook stream: each sheet's name, visibility (0 visible, 1 hidden, 2 very hidden) and cells
    (row, column, number or text), as LABEL and NUMBER records."""
    version = struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x06)
    globals_ = _record(0x0809, version) + _record(0x0042, struct.pack("<H", 1200))

    def listed(offset: int, name: str, state: int) -> bytes:
        return _record(0x0085, struct.pack("<IBBBB", offset, state, 0, len(name), 1) + name.encode("utf-16-le"))

    def substream(cells: Sequence[tuple[int, int, object]]) -> bytes:
        out = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0x0DBB, 0x07CC, 0, 0x06))
        for row, column, value in cells:
            if isinstance(value, str):
                out += _record(
                    0x0204, struct.pack("<HHHHB", row, column, 15, len(value), 1) + value.encode("utf-16-le")
                )
            else:
                out += _record(0x0203, struct.pack("<HHHd", row, column, 15, float(str(value))))
        return out + _record(0x000A)

    bodies = [substream(cells) for _, _, cells in sheets]
    offset = len(globals_) + sum(len(listed(0, name, state)) for name, state, _ in sheets) + 4
    listing = b""
    for (name, state, _), body in zip(sheets, bodies, strict=True):
        listing += listed(offset, name, state)
        offset += len(body)
    return globals_ + listing + _record(0x000A) + b"".join(bodies)


def _biff_cells(rows: Sequence[Sequence[Any]]) -> list[tuple[int, int, object]]:
    return [(r, c, v) for r, row in enumerate(rows) for c, v in enumerate(row)]


def _refusal(path: Path, limits: SheetLimits = LIMITS) -> str:
    with pytest.raises(Rejection) as refused:
        read_table(path, all_layouts(), limits)
    return str(refused.value)


def _context(settings: Settings, **limits: object) -> Context:
    """A warehouse of the test's own; checks by the suite's Polars translation (quicker than GX on 60 rows)."""
    context = Context.from_settings(settings.model_copy(update={"gx_max_rows": 0, **limits}))
    ensure_schema(context.warehouse)
    return context


# --- which sheet ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_a_hidden_first_sheet_is_never_loaded(tmp_path: Path, state: str) -> None:
    doubled = [[*school[:4], school[4] * 2, *school[5:]] for school in SCHOOLS]
    path = _xlsx(
        tmp_path / CENSUS_NAME, [("Workings", _census(doubled)), ("Data", _census())], states={"Workings": state}
    )

    raw = read_table(path, all_layouts())

    assert raw.sheet == "Data"
    assert raw.frame["NOR"].to_list() == ["244", "764", "300"]


def test_a_workbook_whose_only_match_is_hidden_is_refused_saying_so(tmp_path: Path) -> None:
    notes = _sheet_data([["Notes"], ["Census figures, January 2024"]])
    path = _xlsx(tmp_path / CENSUS_NAME, [("Notes", notes), ("Data", _census())], states={"Data": "hidden"})

    message = _refusal(path)

    assert "no visible sheet has the header of a known layout" in message
    assert "looked in 'Notes'" in message and "hidden sheets are never loaded ('Data')" in message


def test_two_visible_sheets_of_one_dataset_are_refused_naming_both(tmp_path: Path) -> None:
    path = _xlsx(
        tmp_path / CENSUS_NAME, [("Notes", _sheet_data([["About"]])), ("Spring", _census()), ("Summer", _census())]
    )

    message = _refusal(path)

    assert message.startswith(f"{CENSUS_NAME}: sheets 'Spring' and 'Summer' both hold school_census")
    assert "which one to load is unclear" in message


def test_a_hidden_ods_sheet_is_never_loaded(tmp_path: Path) -> None:
    doubled = [[*school[:4], school[4] * 2, *school[5:]] for school in SCHOOLS]
    path = _ods(
        tmp_path / "england_census_2023-24.ods",
        [("Old", _ods_rows([HEADER, *doubled])), ("Data", _ods_rows([HEADER, *SCHOOLS]))],
        hidden=["Old"],
    )

    raw = read_table(path, all_layouts())

    assert (raw.file_format, raw.sheet) == ("ods", "Data")
    assert raw.frame["NOR"].to_list() == ["244", "764", "300"]


def test_an_xls_reads_its_visible_sheet_in_a_child_process(tmp_path: Path) -> None:
    doubled = [[*school[:4], school[4] * 2, *school[5:]] for school in SCHOOLS]
    book = _biff([("Old", 1, _biff_cells([HEADER, *doubled])), ("Data", 0, _biff_cells([HEADER, *SCHOOLS]))])
    path = tmp_path / "england_census_2023-24.xls"
    path.write_bytes(_compound_file({"Workbook": book}))

    raw = read_table(path, all_layouts())

    assert (raw.file_format, raw.sheet, raw.header) == ("xls", "Data", HEADER)
    assert raw.frame.select(SOURCE_ROW, "URN", "NOR", "PSENELK").rows() == [
        (2, "100000", "244", "0.24"), (3, "100001", "764", "0.13"), (4, "100002", "300", "0.1"),
    ]  # fmt: skip


# --- cells ------------------------------------------------------------------------------------------------------


def test_formulas_errors_and_not_available_cells(tmp_path: Path) -> None:
    rows = [
        [100000, 201, 3614, "State-funded primary", Raw('<c r="{ref}"><f>SUM(J2:K2)</f><v>244</v></c>'), 11, 0.045,
         59, 0.24],
        [100001, 201, 6005, "Independent school", Raw('<c r="{ref}"><f>SUM(J3:K3)</f></c>'), 0, 0, 100, 0.13],
        [100002, 202, 1234, "State-funded primary", 300, Raw('<c r="{ref}" t="e"><f>1/0</f><v>#DIV/0!</v></c>'),
         Raw('<c r="{ref}" t="e"><v>#N/A</v></c>'), Raw('<c r="{ref}" t="e"><v>#REF!</v></c>'), 0.1],
    ]  # fmt: skip
    path = _xlsx(tmp_path / CENSUS_NAME, [("Data", _census(rows))])

    raw = read_table(path, all_layouts())

    assert raw.frame["NOR"].to_list() == ["244", "#NO-CACHED-VALUE! (formula in E3)", "300"]
    assert raw.frame.row(2) == (
        4,
        "100002",
        "202",
        "1234",
        "State-funded primary",
        "300",
        "#DIV/0!",
        None,
        "#REF!",
        "0.1",
    )


def _sample_census(rows: int) -> list[list[Any]]:
    """The sample census's header and first schools, numbers as number cells (as a workbook holds them)."""
    with (SAMPLE_DIR / "england_census_2023-24.csv").open(encoding="utf-8") as handle:
        lines = list(itertools.islice(csv.reader(handle), rows + 1))
    schools: list[list[Any]] = [
        [float(v) if v.replace(".", "", 1).isdigit() else v for v in line] for line in lines[1:]
    ]
    return [lines[0], *schools]


def test_an_error_and_an_uncalculated_formula_quarantine_their_rows_naming_them(
    tmp_path: Path, settings: Settings
) -> None:
    census = _sample_census(60)
    census[2][4] = Raw('<c r="{ref}"><f>NORG+NORB</f></c>')  # no cached value: E3
    census[3][9] = Raw('<c r="{ref}" t="e"><f>1/0</f><v>#DIV/0!</v></c>')  # J4
    context = _context(settings)
    path = _xlsx(tmp_path / CENSUS_NAME, [("Data", _sheet_data(census))])

    outcome = ingest_path(path, None, context)

    assert (outcome.status, outcome.rows_loaded, outcome.rows_quarantined) == ("loaded", 58, 2), outcome.message
    held = ledger.query(context.warehouse, "SELECT source_row_number, reasons FROM etl_quarantine ORDER BY 1")
    assert held["source_row_number"].to_list() == [3, 4]
    assert "total_pupils_status='invalid:#NO-CACHED-VALUE! (formula in E3)'" in held["reasons"][0]
    assert "ehc_plan_status='invalid:#DIV/0!'" in held["reasons"][1]
    assert ledger.query(context.warehouse, "SELECT COUNT(*) AS n FROM fct_school_census")["n"][0] == 58


def test_numbers_dates_booleans_and_strings_read_as_calamine_wrote_them(tmp_path: Path) -> None:
    custom = (
        '<numFmts><numFmt numFmtId="164" formatCode="dd/mm/yyyy\\ hh:mm"/>'
        '<numFmt numFmtId="165" formatCode="0.0&quot;d&quot;"/></numFmts>'
    )
    formats = "".join(f'<xf numFmtId="{number}"/>' for number in (0, 14, 164, 165))
    styles = f'<styleSheet xmlns="{MAIN}">{custom}<cellXfs>{formats}</cellXfs></styleSheet>'
    cells: list[list[Any]] = [
        ["URN", "value"],
        [1, Raw('<c r="{ref}"><v>0.30000000000000004</v></c>')],
        [2, Raw('<c r="{ref}"><v>43127313.519999996</v></c>')],
        [3, Raw('<c r="{ref}"><v>1e20</v></c>')],
        [4, Raw('<c r="{ref}"><v>-1e-10</v></c>')],
        [5, Raw('<c r="{ref}" s="1"><v>45170</v></c>')],
        [6, Raw('<c r="{ref}" s="2"><v>45170.123456789</v></c>')],
        [7, Raw('<c r="{ref}" s="3"><v>45170.5</v></c>')],
        [8, Raw('<c r="{ref}" t="b"><v>1</v></c>')],
        [9, Raw('<c r="{ref}" t="s"><v>0</v></c>')],
        [10, Raw('<c r="{ref}"><v>٣٤٤</v></c>')],
        [11, Raw('<c r="{ref}" t="inlineStr"><is><r><t>a_x000D_</t></r><r><t>b</t></r><rPh><t>PH</t></rPh></is></c>')],
    ]
    path = _xlsx(tmp_path / "values.xlsx", [("Data", _sheet_data(cells))], shared=["  spaced  "], styles=styles)

    raw = read_table(path, all_layouts())

    assert raw.frame["value"].to_list() == [
        "0.3", "43127313.519999996", "100000000000000000000", "-0", "2023-09-01 00:00:00",
        "2023-09-01 02:57:46.667", "45170.5", "true", "  spaced  ", "٣٤٤", "a\rb",
    ]  # fmt: skip


def test_a_cell_referring_to_a_missing_shared_string_is_refused_naming_it(tmp_path: Path) -> None:
    cells: list[list[Any]] = [HEADER, [100000, 201, 3614, Raw('<c r="{ref}" t="s"><v>7</v></c>'), 244, 11, 0.045, 59]]
    path = _xlsx(tmp_path / CENSUS_NAME, [("Data", _sheet_data(cells))], shared=["only one"])

    assert "cell D2 of sheet 'Data' refers to shared string '7'" in _refusal(path)


# --- merged cells -----------------------------------------------------------------------------------------------


def test_merged_cells_among_the_data_are_refused_naming_the_range(tmp_path: Path) -> None:
    body = _census() + '<mergeCells count="1"><mergeCell ref="B2:B3"/></mergeCells>'
    path = _xlsx(tmp_path / CENSUS_NAME, [("Data", body)])

    message = _refusal(path)

    assert f"{CENSUS_NAME}: sheet 'Data' has merged cells B2:B3 among its data (below the header in row 1)" in message


def test_a_merged_title_above_the_header_and_a_merged_note_below_the_table_are_read(tmp_path: Path) -> None:
    rows = [["Census 2024", "hidden under the title"], HEADER, *SCHOOLS, [], ["Source: DfE", "hidden under the note"]]
    body = _sheet_data(rows) + '<mergeCells><mergeCell ref="A1:C1"/><mergeCell ref="A7:I8"/></mergeCells>'
    path = _xlsx(tmp_path / CENSUS_NAME, [("Data", body)])

    raw = read_table(path, all_layouts())

    assert (raw.header_row, raw.preamble) == (2, ("Census 2024",))
    assert raw.frame.select(SOURCE_ROW, "URN", "LA").rows()[-2:] == [(6, None, None), (7, "Source: DfE", None)]


def test_ods_merged_cells_follow_the_same_rule(tmp_path: Path) -> None:
    spanning = Raw('<table:table-cell table:number-rows-spanned="2" office:value-type="float" office:value="201"/>')
    rows = [HEADER, [100000, spanning, *SCHOOLS[0][2:]], [100001, Raw("<table:covered-table-cell/>"), *SCHOOLS[1][2:]]]
    path = _ods(tmp_path / "england_census_2023-24.ods", [("Data", _ods_rows(rows))])

    assert "sheet 'Data' has merged cells B2:B3 among its data" in _refusal(path)


# --- bounds -----------------------------------------------------------------------------------------------------


def test_a_stray_cell_at_xfd1048576_is_refused_at_once(tmp_path: Path) -> None:
    body = '<dimension ref="A1:XFD1048576"/>' + _census()[: -len("</sheetData>")]
    body += '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
    path = _xlsx(tmp_path / CENSUS_NAME, [("Data", body)])
    assert path.stat().st_size < 4096

    started = time.perf_counter()
    message = _refusal(path)

    assert time.perf_counter() - started < 1
    assert "sheet 'Data' spans A1:XFD1048576 (1,048,576 rows by 16,384 columns)" in message
    assert "past the limit of 5,000,000 cells (SENDFLOW_SHEET_MAX_CELLS)" in message


def test_a_table_in_the_far_corner_is_read_sparsely(tmp_path: Path) -> None:
    rows = [HEADER, SCHOOLS[0]]
    body = '<dimension ref="A1"/>' + _sheet_data(rows, first_row=1_048_575, first_column=16_384 - len(HEADER))
    path = _xlsx(tmp_path / CENSUS_NAME, [("Data", body)])

    started = time.perf_counter()
    raw = read_head(path, all_layouts())

    assert time.perf_counter() - started < 1
    assert (raw.header, raw.header_row) == (HEADER, 1_048_575)
    assert raw.frame.select(SOURCE_ROW, "URN").rows() == [(1_048_576, "100000")]


def test_a_shared_strings_bomb_is_refused_at_the_byte_limit_through_ingest(tmp_path: Path, settings: Settings) -> None:
    bomb = f'<sst xmlns="{MAIN}">'.encode() + b"<si><t>" + b"A" * (32 * 1024 * 1024) + b"</t></si></sst>"
    path = _xlsx(tmp_path / CENSUS_NAME, [("Data", _census())], members={"xl/sharedStrings.xml": bomb})
    assert path.stat().st_size < 200_000
    context = _context(settings, sheet_max_expanded_bytes=4 * 1024 * 1024)

    started = time.perf_counter()
    outcome = ingest_path(path, None, context)

    assert time.perf_counter() - started < 5
    assert outcome.status == "rejected"
    assert outcome.message == (
        f"{CENSUS_NAME}: its shared string table expands past 4,194,304 bytes (SENDFLOW_SHEET_MAX_EXPANDED_BYTES): "
        "a zip bomb, or too big to read as a workbook"
    )


def test_a_part_whose_header_understates_its_size_is_refused_never_read_short(tmp_path: Path) -> None:
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>1</v></c></row>' for r in range(1, 50_000))
    path = _xlsx(tmp_path / CENSUS_NAME, [("Data", f"<sheetData>{rows}</sheetData>")])
    data, name = bytearray(path.read_bytes()), b"xl/worksheets/sheet1.xml"
    for marker, name_at, size_at in ((b"PK\x03\x04", 30, 22), (b"PK\x01\x02", 46, 24)):  # its local and central headers
        start = data.find(marker)
        while start >= 0:
            if data[start + name_at : start + name_at + len(name)] == name:
                struct.pack_into("<I", data, start + size_at, 1000)
            start = data.find(marker, start + 4)
    path.write_bytes(bytes(data))

    message = _refusal(path)

    assert message.startswith(f"{CENSUS_NAME}: sheet 'Data' is not well-formed XML") or message.startswith(
        f"{CENSUS_NAME} looks like a workbook but cannot be read: Bad CRC-32"
    )


def test_a_sheet_of_too_many_cells_is_refused_at_the_cell_limit(tmp_path: Path) -> None:
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>1</v></c><c r="B{r}"><v>2</v></c></row>' for r in range(1, 30_001))
    path = _xlsx(tmp_path / CENSUS_NAME, [("Data", f"<sheetData>{rows}</sheetData>")])

    message = _refusal(path, replace(LIMITS, max_cells=50_000))

    assert message == f"{CENSUS_NAME}: sheet 'Data' expands past 50,000 cells (SENDFLOW_SHEET_MAX_CELLS)"


def test_the_923_byte_ods_of_repeated_cells_is_refused_at_once(tmp_path: Path) -> None:
    bomb = Raw('<table:table-cell table:number-columns-repeated="16384" office:value-type="float" office:value="1"/>')
    rows = (_ods_rows([["URN", "LA"]]) + '<table:table-row table:number-rows-repeated="1048575">'
            + _ods_cell(bomb) + "</table:table-row>")  # fmt: skip
    path = _ods(tmp_path / "bomb.ods", [("Data", rows)])
    assert path.stat().st_size < 1024

    started = time.perf_counter()
    message = _refusal(path)

    assert time.perf_counter() - started < 1
    assert message == "bomb.ods: sheet 'Data' expands past 5,000,000 cells (SENDFLOW_SHEET_MAX_CELLS)"


def test_trailing_repeated_empty_ods_cells_cost_nothing(tmp_path: Path) -> None:
    padding = Raw('<table:table-cell table:number-columns-repeated="16000"/>')
    rows = _ods_rows([[*HEADER, padding], *SCHOOLS])
    rows += (
        '<table:table-row table:number-rows-repeated="1048000">'
        '<table:table-cell table:number-columns-repeated="1024"/></table:table-row>'
    )
    path = _ods(tmp_path / "england_census_2023-24.ods", [("Data", rows)])

    started = time.perf_counter()
    raw = read_table(path, all_layouts(), replace(LIMITS, max_cells=100))

    assert time.perf_counter() - started < 1
    assert (raw.header, raw.frame.height) == (HEADER, 3)


def test_a_slow_read_is_refused_at_the_time_limit(tmp_path: Path) -> None:
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(1, 20_001))
    path = _xlsx(tmp_path / CENSUS_NAME, [("Data", f"<sheetData>{rows}</sheetData>")])

    message = _refusal(path, replace(LIMITS, max_seconds=0.001))

    assert (
        message.startswith(f"{CENSUS_NAME}: reading ")
        and "took longer than 0.001 s (SENDFLOW_SHEET_MAX_SECONDS)" in message
    )


def test_an_xls_whose_reader_runs_out_of_memory_fails_that_file_only(tmp_path: Path) -> None:
    # Cells at A1 and IV65536: calamine allocates the whole 65,536 x 256 grid, past the child's address space.
    book = _biff([("Data", 0, [*_biff_cells([HEADER, SCHOOLS[0]]), (65535, 255, 1)])])
    path = tmp_path / "england_census_2023-24.xls"
    path.write_bytes(_compound_file({"Workbook": book}))

    message = _refusal(path, replace(LIMITS, xls_max_memory_bytes=768 * 1024 * 1024))

    assert message == (
        "england_census_2023-24.xls: reading the old-format (.xls) workbook needed more than 805,306,368 bytes "
        "(SENDFLOW_XLS_MAX_MEMORY_BYTES); save it as .xlsx and offer it again"
    )


def test_a_damaged_xls_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "census.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    stream_only = tmp_path / "census2.xls"  # a sound container whose workbook stream is garbage: calamine's word
    stream_only.write_bytes(_compound_file({"Workbook": b"\x09\x08" + bytes(100)}))

    assert _refusal(path).startswith("census.xls starts like an old-format (.xls) workbook but its compound-file")
    assert _refusal(stream_only).startswith(
        "census2.xls looks like an old-format (.xls) workbook but cannot be read (exit status 2: PanicException: "
    )  # calamine panics on it: in this process that would have ended the run


def test_the_landing_zones_archive_limits_apply_to_an_ingested_workbook(tmp_path: Path, settings: Settings) -> None:
    path = _xlsx(
        tmp_path / CENSUS_NAME, [("Data", _census())], members={f"xl/media/image{n}.png": b"x" for n in range(30)}
    )
    context = _context(settings, archive_max_members=20)

    outcome = ingest_path(path, None, context)

    assert outcome.status == "rejected"
    assert outcome.message == f"{CENSUS_NAME} has 37 members, over the limit of 20 (SENDFLOW_ARCHIVE_MAX_MEMBERS)"


# --- what a file is ---------------------------------------------------------------------------------------------


def test_a_password_protected_workbook_is_refused_as_such(tmp_path: Path) -> None:
    path = tmp_path / CENSUS_NAME  # Excel saves an encrypted .xlsx as an OLE compound file
    path.write_bytes(_compound_file({"EncryptionInfo": b"\x04\x00\x04\x00", "EncryptedPackage": bytes(64)}))

    assert _refusal(path) == f"{CENSUS_NAME} is password-protected; save it without a password and offer it again"


def test_a_password_protected_ods_is_refused_as_such(tmp_path: Path) -> None:
    path = _ods(tmp_path / "grant.ods", [("Data", _ods_rows([HEADER, *SCHOOLS]))], encrypted=True)

    assert _refusal(path) == "grant.ods is password-protected; save it without a password and offer it again"


def test_a_csv_renamed_xlsx_is_refused_naming_what_it_holds(tmp_path: Path) -> None:
    path = tmp_path / CENSUS_NAME
    path.write_text(",".join(HEADER) + "\n" + ",".join(str(v) for v in SCHOOLS[0]) + "\n")

    message = _refusal(path)

    assert message.startswith(f"{CENSUS_NAME} is named as a workbook (.xlsx) but holds none: its bytes are text")


def test_a_zip_that_is_no_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "returns.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("census.csv", "URN\n1\n")

    assert _refusal(path).startswith("returns.xlsx is a zip archive but not an Excel or OpenDocument workbook")


def test_a_workbook_read_twice_gives_the_same_table(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / CENSUS_NAME, [("Data", _census())])

    whole: RawTable = read_table(path, all_layouts())
    head: RawTable = read_head(path, all_layouts())

    assert whole.frame.equals(head.frame) and (whole.sheet, whole.header_row) == (head.sheet, head.header_row)
