"""A small OpenDocument spreadsheet reader: every sheet as rows of text cells.

ESFA's DSG workbooks are ODS files without the 'mimetype' member the format asks for, which calamine
refuses; the cells themselves are ordinary OpenDocument XML, read here with the standard library.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.etree import ElementTree

_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
# Sheets pad themselves with enormous runs of empty repeated cells; nothing real repeats this often.
_MAX_REPEAT = 4096


def is_ods(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                return b"opendocument.spreadsheet" in archive.read("mimetype")
            return "content.xml" in names and b"opendocument.spreadsheet" in archive.read("META-INF/manifest.xml")
    except (zipfile.BadZipFile, KeyError, OSError):
        return False


def _cell_text(cell: ElementTree.Element) -> str | None:
    kind = cell.get(f"{{{_OFFICE}}}value-type")
    if kind in ("float", "percentage", "currency"):
        return cell.get(f"{{{_OFFICE}}}value")
    if kind == "date":
        return cell.get(f"{{{_OFFICE}}}date-value")
    if kind == "boolean":
        return cell.get(f"{{{_OFFICE}}}boolean-value")
    paragraphs = []
    for paragraph in cell.iter(f"{{{_TEXT}}}p"):
        parts = []
        for node in paragraph.iter():
            if node.tag == f"{{{_TEXT}}}s":
                parts.append(" " * int(node.get(f"{{{_TEXT}}}c", "1")))
            elif node.text:
                parts.append(node.text)
            if node is not paragraph and node.tail:
                parts.append(node.tail)
        paragraphs.append("".join(parts))
    text = "\n".join(paragraphs)
    return text if text != "" else None


def _trimmed(cells: list[str | None]) -> list[str | None]:
    while cells and cells[-1] is None:
        cells.pop()
    return cells


def read_ods(path: Path) -> dict[str, list[list[str | None]]]:
    """Sheet name -> rows (trailing empty cells and rows dropped), in workbook order."""
    sheets: dict[str, list[list[str | None]]] = {}
    with zipfile.ZipFile(path) as archive, archive.open("content.xml") as content:
        for _event, element in ElementTree.iterparse(content, events=("end",)):
            if element.tag != f"{{{_TABLE}}}table":
                continue
            rows: list[list[str | None]] = []
            for row in element.iter(f"{{{_TABLE}}}table-row"):
                cells: list[str | None] = []
                for cell in row:
                    if cell.tag not in (f"{{{_TABLE}}}table-cell", f"{{{_TABLE}}}covered-table-cell"):
                        continue
                    value = _cell_text(cell)
                    repeat = int(cell.get(f"{{{_TABLE}}}number-columns-repeated", "1"))
                    cells.extend([value] * min(repeat, _MAX_REPEAT))
                cells = _trimmed(cells)
                repeat = int(row.get(f"{{{_TABLE}}}number-rows-repeated", "1"))
                rows.extend(list(cells) for _ in range(min(repeat, _MAX_REPEAT)))
            while rows and not rows[-1]:
                rows.pop()
            sheets[element.get(f"{{{_TABLE}}}name", f"Sheet{len(sheets) + 1}")] = rows
            element.clear()
    return sheets
