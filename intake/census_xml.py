"""School census XML returns, flattened into the pupil CSV layout (see transforms/pupil_census.py).

One row per `PupilOnRoll`, every item as text exactly as written (the intake trims and checks it), with the
header's Term, ReferenceDate, LEA and Estab repeated on each row and the SEN types put in SENtype1 and
SENtype2 by their SENtypeRank. An item the file does not carry is NULL, so the intake names any missing
required item. `source_row_number` is the pupil's position in the file counting pupils from 1 (in a CSV it
is the line, the header being row 1). The file is read as a stream (a pull parser fed in blocks), each
pupil's element freed once read, so memory grows with the rows kept, not the file's markup. A UTF-16 return
(its byte-order mark says so) is read like a UTF-8 one, and blank lines before the markup are skipped.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from xml.etree.ElementTree import Element, ParseError, XMLPullParser
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
_BOMS = ((codecs.BOM_UTF8, "utf-8", 1), (codecs.BOM_UTF16_LE, "utf-16-le", 2), (codecs.BOM_UTF16_BE, "utf-16-be", 2))


# How much of a file tells whether it is XML: enough for a BOM and a few blank lines before the first '<'.
XML_HEAD_BYTES = 4096
_XML_SPACE = " \t\r\n"  # XML's white space (production S); anything else before '<' is not XML


@dataclass(frozen=True)
class _Start:
    """Where the markup begins: after the byte-order mark and any white space before the first '<'."""

    bom: bytes
    encoding: str
    offset: int  # bytes before the first '<'
    lines: int  # line breaks skipped, so a parser's line numbers can be given as the file's
    columns: int  # characters skipped on the line of the first '<'


def _start(head: bytes) -> _Start | None:
    bom, encoding, unit = next((b for b in _BOMS if head.startswith(b[0])), (b"", "utf-8", 1))
    # errors="replace": the head may end inside a character, and a stray byte must not vanish before a '<'.
    text = head[len(bom) :].decode(encoding, errors="replace")
    body = text.lstrip(_XML_SPACE)
    if not body.startswith("<"):
        return None
    skipped = text[: len(text) - len(body)]
    return _Start(bom, encoding, len(bom) + unit * len(skipped), skipped.count("\n"), len(skipped.rsplit("\n", 1)[-1]))


def looks_like_xml(head: bytes) -> bool:
    """Whether a file is XML by its content (never its name), from its first bytes (up to XML_HEAD_BYTES,
    already read by the caller): after an optional UTF-8 or UTF-16 byte-order mark and white space, '<'."""
    return _start(head[:XML_HEAD_BYTES]) is not None


def xml_encoding(head: bytes) -> str:
    """The encoding the byte-order mark gives (as `decode` names a CSV's); UTF-8 without one."""
    start = _start(head[:XML_HEAD_BYTES])
    if start is None or not start.bom:
        return "utf-8"
    return "utf-8-sig" if start.bom == codecs.BOM_UTF8 else start.encoding


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


def _events(start: _Start, head: bytes, handle: BinaryIO) -> Iterator[tuple[str, Element]]:
    """The parser's start and end events, the file fed to it in blocks from its first '<'.

    White space before the XML declaration is not well-formed XML, but an export with blank lines above it
    is still a return: the parser is given the byte-order mark (which says UTF-16, when it does) and the
    markup, not the blank lines."""
    parser: XMLPullParser[Element] = XMLPullParser(events=("start", "end"))
    parser.feed(start.bom + head[start.offset :])
    while True:
        yield from _read_events(parser)
        block = handle.read(1 << 20)
        if not block:
            break
        parser.feed(block)
    parser.close()
    yield from _read_events(parser)


def _read_events(parser: XMLPullParser[Element]) -> Iterator[tuple[str, Element]]:
    for queued in parser.read_events():
        # Only start and end events were asked for, and those carry an element (the others, a tuple).
        event, element = queued[0], queued[-1]
        assert isinstance(element, Element)
        yield event, element


def read_pupil_xml(path: Path) -> pl.DataFrame:
    """The return's pupils in the CSV layout's columns (all text) plus an Int64 `source_row_number`.

    Raises Rejection, naming the file, for malformed XML (with the parser's line), a root other than
    SchoolCensus, or a return without pupils."""
    columns: dict[str, list[str | None]] = {name: [] for name in (*PUPIL_ITEMS, *SEN_TYPE_RANKS.values())}
    header: dict[str, str | None] = {}
    stack: list[Element] = []
    open_pupils = 0
    start: _Start | None = None
    try:
        with path.open("rb") as handle:
            head = handle.read(XML_HEAD_BYTES)
            start = _start(head)
            if start is None:
                raise Rejection(f"{path.name}: not XML: the first character after any white space is not '<'")
            for event, element in _events(start, head, handle):
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
        if start is not None:  # as the file numbers them, counting the white space skipped before the markup
            line, column = line + start.lines, column + (start.columns if line == 1 else 0)
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
