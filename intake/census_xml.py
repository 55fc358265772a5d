"""School census XML returns, flattened into the pupil CSV layout (see transforms/pupil_census.py).

One row per `PupilOnRoll`, every item as text exactly as written (the intake trims and checks it), with the
header's Term, ReferenceDate, LEA and Estab repeated on each row and the SEN types put in SENtype1 and
SENtype2 by their SENtypeRank. An item the file does not carry is NULL, so the intake names any missing
required item. `source_row_number` is the pupil's position in the file counting pupils from 1 (in a CSV it
is the line, the header being row 1). The file is read as a stream (iterparse), each pupil's element freed
once read, so memory grows with the rows kept, not the file's markup.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError, iterparse
from xml.parsers.expat import ErrorString

import polars as pl

from sendflow.intake.raw import Rejection
from sendflow.transforms.common import SOURCE_ROW

ROOT = "SchoolCensus"
PUPIL = "PupilOnRoll"
# Header items by their path under the root; pupil items are direct children of PupilOnRoll.
HEADER_ITEMS = {
    ("Header", "CollectionDetails", "Term"): "Term",
    ("Header", "CollectionDetails", "ReferenceDate"): "ReferenceDate",
    ("Header", "Source", "LEA"): "LEA",
    ("Header", "Source", "Estab"): "Estab",
}
PUPIL_ITEMS = ("UPN", "Surname", "Forename", "DOB", "Sex", "NCyearActual", "EnrolStatus", "FSMeligible",
               "SENprovision", "Postcode")  # fmt: skip
COLUMNS = ("LEA", "Estab", "Term", "ReferenceDate", "UPN", "Surname", "Forename", "DOB", "Sex", "NCyearActual",
           "EnrolStatus", "FSMeligible", "SENprovision", "SENtype1", "SENtype2", "Postcode")  # fmt: skip
SEN_TYPE_RANKS = {"1": "SENtype1", "2": "SENtype2"}
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def is_xml(path: Path) -> bool:
    """Whether the file is XML by its content: the first character after an optional byte-order mark and
    white space is '<'."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    for bom, encoding in zip(_BOMS, ("utf-8", "utf-16-le", "utf-16-be"), strict=True):
        if head.startswith(bom):
            text = head[len(bom) :].decode(encoding, errors="ignore")
            return text.lstrip().startswith("<")
    return head.lstrip().startswith(b"<")


def _local(tag: str) -> str:
    """An element's name without its namespace, if any."""
    return tag.rsplit("}", 1)[-1]


def _sen_types(pupil: Element) -> dict[str, str | None]:
    """SENtype1 and SENtype2 from the SENtypes block. A SENtype without a usable rank takes the next free
    rank in document order."""
    found: dict[str, str | None] = {}
    unranked: list[str | None] = []
    for block in (child for child in pupil if _local(child.tag) == "SENtypes"):
        for entry in (child for child in block if _local(child.tag) == "SENtype"):
            items = {_local(child.tag): child.text for child in entry}
            column = SEN_TYPE_RANKS.get((items.get("SENtypeRank") or "").strip())
            if column is not None and column not in found:
                found[column] = items.get("SENtype")
            else:
                unranked.append(items.get("SENtype"))
    for column in SEN_TYPE_RANKS.values():
        if column not in found and unranked:
            found[column] = unranked.pop(0)
    return found


def _append_pupil(columns: dict[str, list[str | None]], pupil: Element) -> None:
    items = {_local(child.tag): child.text for child in pupil}
    for item in PUPIL_ITEMS:
        columns[item].append(items.get(item))
    types = _sen_types(pupil)
    for column in SEN_TYPE_RANKS.values():
        columns[column].append(types.get(column))


def read_pupil_xml(path: Path) -> pl.DataFrame:
    """The return's pupils in the CSV layout's columns (all text) plus an Int64 `source_row_number`.

    Raises Rejection, naming the file, for malformed XML (with the parser's line), a root other than
    SchoolCensus, or a return without pupils."""
    columns: dict[str, list[str | None]] = {name: [] for name in (*PUPIL_ITEMS, *SEN_TYPE_RANKS.values())}
    header: dict[str, str | None] = {}
    stack: list[Element] = []
    open_pupils = 0
    try:
        with path.open("rb") as handle:
            for event, element in iterparse(handle, events=("start", "end")):
                name = _local(element.tag)
                if event == "start":
                    if not stack and name != ROOT:
                        raise Rejection(
                            f"{path.name}: the XML's root element is {name}, not {ROOT}: not a school census return"
                        )
                    stack.append(element)
                    open_pupils += name == PUPIL
                    continue
                stack.pop()
                if name == PUPIL:
                    open_pupils -= 1
                    _append_pupil(columns, element)
                elif open_pupils == 0 and len(stack) == 3:
                    where = (*(_local(e.tag) for e in stack[1:]), name)
                    if where in HEADER_ITEMS:
                        header.setdefault(HEADER_ITEMS[where], element.text)
                if open_pupils == 0 and stack:
                    stack[-1].remove(element)  # read: free it, so memory does not grow with the file
    except ParseError as error:
        line, column = error.position
        raise Rejection(
            f"{path.name}: not well-formed XML at line {line}, column {column + 1}: {ErrorString(error.code)}"
        ) from None
    pupils = len(columns["UPN"])
    if pupils == 0:
        raise Rejection(f"{path.name}: a school census return with no PupilOnRoll elements: no pupils to load")
    frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))
    frame = frame.with_columns(
        *[pl.lit(header.get(item), dtype=pl.String).alias(item) for item in HEADER_ITEMS.values()],
        pl.int_range(1, pupils + 1, dtype=pl.Int64).alias(SOURCE_ROW),
    )
    return frame.select(*COLUMNS, SOURCE_ROW)
