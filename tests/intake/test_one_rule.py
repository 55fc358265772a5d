"""One rule for every file: the XML detector both readers use, and one decoder and one truncation check
whether a CSV is read whole (under 1 MiB) or streamed in pieces (above it).

Each large case is one file read both ways: whole by read_table (the small-file path) and as production
reads a large file, read_head then batches; the two must load the same rows or refuse with the same message.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterable
from pathlib import Path

import polars as pl
import pytest

import sendflow.intake.decoding
from sendflow.intake.decoding import Decoder, decode
from sendflow.intake.delimited import batches
from sendflow.intake.raw import RawTable, Rejection
from sendflow.intake.reader import HEAD_BYTES, read_head, read_table
from sendflow.intake.structure import ROW_PROBLEMS
from sendflow.registry.datasets import all_layouts
from sendflow.transforms.common import SOURCE_ROW, Layout

Reader = Callable[[Path, Iterable[Layout]], RawTable]

RETURN = (
    '<?xml version="1.0" encoding="{encoding}"?>\n<SchoolCensus><Header><CollectionDetails><Term>SPR</Term>'
    "<ReferenceDate>2024-01-18</ReferenceDate></CollectionDetails><Source><LEA>201</LEA><Estab>3614</Estab>"
    "</Source></Header>\n<Pupils><PupilOnRoll><UPN>A1</UPN><Surname>Zoë</Surname></PupilOnRoll>"
    "<PupilOnRoll><UPN>B2</UPN></PupilOnRoll></Pupils></SchoolCensus>\n"
)


def _read_large(path: Path) -> pl.DataFrame:
    """A CSV as production reads one over HEAD_BYTES: its head, then school-aligned pieces streamed."""
    raw = read_head(path, all_layouts())
    assert raw.partial, "the file must be large enough to take the streaming path"
    return pl.concat(list(batches(raw, ("URN",), rows=7_000))).drop(ROW_PROBLEMS)


def _large_csv(path: Path, first: bytes, last: bytes, header: bytes = b"URN,SCHNAME\n") -> Path:
    """`header`, then `first` rows, ASCII rows past the first HEAD_BYTES, then `last` rows."""
    filler = b"".join(b"%d,School %d\n" % (200_000 + n, n) for n in range(HEAD_BYTES // 16))
    path.write_bytes(header + first + filler + last)
    assert path.stat().st_size > HEAD_BYTES
    return path


def _refusals(path: Path) -> tuple[str, str]:
    with pytest.raises(Rejection) as whole:
        read_table(path, all_layouts())
    with pytest.raises(Rejection) as streamed:
        _read_large(path)
    return str(whole.value), str(streamed.value)


def _line_of(path: Path, marker: bytes) -> int:
    data = path.read_bytes()
    return data[: data.index(marker)].count(b"\n") + 1


# --- XML: one detector, on the head already read ----------------------------------------------------------------


@pytest.mark.parametrize("reader", [read_table, read_head], ids=["read_table", "read_head"])
def test_an_xml_return_with_leading_blank_lines_is_read_as_xml(tmp_path: Path, reader: Reader) -> None:
    path = tmp_path / "return.csv"  # the name says CSV: the content decides
    path.write_bytes(b"\n\r\n  \n\t" + RETURN.format(encoding="UTF-8").encode())

    raw = reader(path, all_layouts())

    assert raw.file_format == "xml"
    assert raw.frame["UPN"].to_list() == ["A1", "B2"]
    assert raw.frame["Surname"].to_list() == ["Zoë", None]
    assert raw.frame["LEA"].to_list() == ["201", "201"]


@pytest.mark.parametrize("bom", [codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE], ids=["le", "be"])
@pytest.mark.parametrize("reader", [read_table, read_head], ids=["read_table", "read_head"])
def test_a_utf16_xml_return_with_a_newline_before_the_markup_loads_as_its_utf8_twin(
    tmp_path: Path, reader: Reader, bom: bytes
) -> None:
    # XML declares its own encoding and every XML parser reads UTF-16, so such a return is loaded (unlike a
    # UTF-16 CSV, which has no such declaration and is refused): the same rows as the UTF-8 return.
    codec = "utf-16-le" if bom == codecs.BOM_UTF16_LE else "utf-16-be"
    utf16 = tmp_path / "return16.xml"
    utf16.write_bytes(bom + ("\n" + RETURN.format(encoding="UTF-16")).encode(codec))
    utf8 = tmp_path / "return8.xml"
    utf8.write_bytes(RETURN.format(encoding="UTF-8").encode())

    raw = reader(utf16, all_layouts())

    assert (raw.file_format, raw.encoding) == ("xml", codec)
    assert raw.frame.equals(reader(utf8, all_layouts()).frame)


def test_broken_xml_after_blank_lines_is_refused_naming_the_file_s_own_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.xml"
    path.write_bytes(b"\n\n<SchoolCensus>\n<Pupils>\n<PupilOnRoll><UPN>A&1</UPN></PupilOnRoll>")

    with pytest.raises(Rejection) as rejected:
        read_head(path, all_layouts())

    # Line 5 of the file (line 3 of the markup the parser was given, after the two blank lines).
    assert str(rejected.value).startswith("bad.xml: not well-formed XML at line 5, column 21:"), str(rejected.value)


# --- one decoder, one truncation check, every size ---------------------------------------------------------------


@pytest.mark.parametrize("block", [None, 997], ids=["default-blocks", "small-blocks"])
def test_a_large_csv_mixing_utf8_and_cp1252_is_refused_as_a_small_one_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int | None
) -> None:
    if block:  # many blocks: the rule must hold across block boundaries too
        monkeypatch.setattr(sendflow.intake.decoding, "BLOCK_BYTES", block)
    small = tmp_path / "mixed.csv"
    small.write_bytes("URN,SCHNAME\n100000,École\n".encode() + b"100001,Caf\xe9\n")
    with pytest.raises(Rejection) as refused:
        read_table(small, all_layouts())
    assert (
        str(refused.value) == "mixed.csv: byte 0xE9 on line 3 is not UTF-8, though earlier lines are (mixed encodings)"
    )

    # The UTF-8 accent in the head, the cp1252 byte past it: read_head passes, the streamed pieces refuse.
    large = _large_csv(tmp_path / "mixed_large.csv", "100000,École\n".encode(), b"100001,Caf\xe9\n")
    whole, streamed = _refusals(large)

    line = _line_of(large, b"Caf\xe9")
    assert streamed == whole
    assert (
        streamed
        == f"mixed_large.csv: byte 0xE9 on line {line} is not UTF-8, though earlier lines are (mixed encodings)"
    )
    assert not list(tmp_path.glob(".*.tmp")), "the streaming path left its UTF-8 copy behind"


@pytest.mark.parametrize(
    ("first", "last", "encoding"),
    [
        (b"100000,Ecole \xe0\xa0Londres\n", b"100001,St Mary\x92s\n", "cp1252"),
        (b"100000,Plain\n", b"100001,St Mary\x92s\n", "cp1252"),  # the only cp1252 byte well past the head
        ("100000,Saint-Étienne\n".encode(), "100001,Zoë\n".encode(), "utf-8"),
        (codecs.BOM_UTF8 + "100000,Saint-Étienne\n".encode(), b"100001,Zoe\n", "utf-8-sig"),
    ],
    ids=["cp1252", "cp1252-after-the-head", "utf-8", "utf-8-bom"],
)
def test_a_large_csv_loads_the_same_rows_as_when_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first: bytes, last: bytes, encoding: str
) -> None:
    monkeypatch.setattr(sendflow.intake.decoding, "BLOCK_BYTES", 65_537)
    header = b"URN,SCHNAME\n"
    if first.startswith(codecs.BOM_UTF8):  # the BOM opens the file
        header, first = codecs.BOM_UTF8 + header, first[len(codecs.BOM_UTF8) :]
    path = _large_csv(tmp_path / "edubasealldata20250422.csv", first, last, header=header)

    whole = read_table(path, all_layouts())
    streamed = _read_large(path)

    assert whole.encoding == encoding
    # The same columns (the streamed pieces put the row number first), the same rows, the same text.
    assert sorted(streamed.columns) == sorted(whole.frame.columns) == sorted(["URN", "SCHNAME", SOURCE_ROW])
    assert streamed.select(whole.frame.columns).equals(whole.frame)
    assert streamed["SCHNAME"][-1] == last.decode(encoding.replace("-sig", "")).strip().split(",")[1]
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (b"999999,Cut", "big.csv: row {line} has 2 of the header's 3 fields; the file looks truncated"),
        (b"999999,Cut\r\n\r\n", "big.csv: row {line} has 2 of the header's 3 fields; the file looks truncated"),
        (b"999999,B\x81 school,1\n", "big.csv: byte 0x81 on line {line} is not UTF-8 or Windows-1252"),
    ],
    ids=["cut-mid-row", "cut-then-blank-lines", "undecodable-byte"],
)
def test_a_large_csv_cut_off_or_undecodable_is_refused_as_a_small_one_is(
    tmp_path: Path, last: bytes, expected: str
) -> None:
    path = _large_csv(tmp_path / "big.csv", b"", last, header=b"URN,SCHNAME,NOR\n")
    filler_fixed = path.read_bytes().replace(b",School ", b",School,")  # three fields in every filler row
    path.write_bytes(filler_fixed)

    whole, streamed = _refusals(path)

    assert streamed == whole == expected.format(line=_line_of(path, b"999999"))


@pytest.mark.parametrize("bom", [codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE], ids=["le", "be"])
def test_a_large_utf16_csv_is_refused_as_a_small_one_is(tmp_path: Path, bom: bytes) -> None:
    codec = "utf-16-le" if bom == codecs.BOM_UTF16_LE else "utf-16-be"
    path = tmp_path / "unicode_text.csv"
    path.write_bytes(bom + ("URN,LA\n" + "100000,201\n" * (HEAD_BYTES // 16)).encode(codec))

    with pytest.raises(Rejection) as whole:
        read_table(path, all_layouts())
    with pytest.raises(Rejection) as head:
        read_head(path, all_layouts())  # refused on its head, before anything is streamed

    assert str(head.value) == str(whole.value)
    assert str(whole.value).startswith("unicode_text.csv is UTF-16 text; save it as CSV UTF-8")


@pytest.mark.parametrize(
    "data",
    [
        "URN,SCHNAME\n100000,Saint-Étienne\n100001,Zoë\n".encode(),
        codecs.BOM_UTF8 + "URN,SCHNAME\n100000,Zoë\n100001,Cut".encode(),
        b"URN,SCHNAME\n100000,Ecole \xe0\xa0Londres\n100001,St Mary\x92s\r\n\r\n",
        "URN,SCHNAME\n100000,École\n".encode() + b"100001,Caf\xe9\n",
        b"URN,SCHNAME\n100000,A school\n100001,B\x81 school\n",
        codecs.BOM_UTF8 + b"URN,SCHNAME\n100000,Ecole \xe0 Londres\n",
        codecs.BOM_UTF16_LE + "URN\n".encode("utf-16-le"),
        b"",
    ],
    ids=["utf-8", "bom-no-final-newline", "cp1252-crlf", "mixed", "undecodable", "bad-after-bom", "utf-16", "empty"],
)
@pytest.mark.parametrize("size", [1, 2, 3, 5, 64])
def test_the_decoder_gives_one_answer_whatever_the_block_size(data: bytes, size: int) -> None:
    """What decode (one block) says of a file, the Decoder fed in blocks of any size says too."""
    try:
        whole = decode(data, "f.csv")
    except Rejection as refused:
        whole_refusal: str | None = str(refused)
    else:
        whole_refusal = None
    decoder = Decoder("f.csv")
    try:
        text = "".join(decoder.feed(data[i : i + size]) for i in range(0, len(data), size)) + decoder.finish()
    except Rejection as refused:
        assert str(refused) == whole_refusal
    else:
        assert whole_refusal is None
        assert (text, decoder.encoding, decoder.last_line) == (whole.text, whole.encoding, whole.last_line)
