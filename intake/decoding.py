"""Bytes to text, one rule for every file size: UTF-8 (with or without BOM), else Windows-1252 (GIAS exports);
UTF-16 (with or without BOM), mixed UTF-8/Windows-1252 (whichever comes first) and undecodable bytes refused
naming the file and line; and the truncation check.

`Decoder` works block by block, so a large CSV streams through it; a small file is one block through the same
code, so the same bytes get the same answer (and the same message) whatever the file's size.
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sendflow.intake.raw import Rejection

# Large files are decoded in blocks of this size (bytes); memory stays flat whatever the file's size.
BLOCK_BYTES = 1 << 22
# UTF-16 without a BOM: ASCII text in it has a NUL beside every character. Judged on the first bytes; a CSV
# with a NUL in every other byte of its start is no Windows-1252 or UTF-8 text anyone writes.
_UTF16_SNIFF_BYTES = 512
_UTF16_NUL_SHARE = 0.4
# A well-formed multi-byte UTF-8 sequence. In Windows-1252 text such pairs are mojibake ('Ã©' for 'é'), so
# one after the switch to Windows-1252 means the file mixes the two encodings.
_UTF8_SEQUENCE = re.compile(rb"[\xC2-\xDF][\x80-\xBF]|[\xE0-\xEF][\x80-\xBF]{2}|[\xF0-\xF4][\x80-\xBF]{3}")


@dataclass(frozen=True)
class LastLine:
    """The file's last non-blank line and its line number (first line = 1): what the truncation check needs."""

    text: str
    number: int


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    last_line: LastLine | None


class Decoder:
    """Feed a file's bytes in blocks of any size; each `feed` returns the text of what it could decode.

    The rule: a UTF-8 BOM means UTF-8 (a bad byte after it is refused); UTF-16, with a BOM or without (NULs
    beside the characters of its first bytes), is refused; otherwise UTF-8, and at the first byte that is not
    UTF-8, Windows-1252 for the whole file, unless valid non-ASCII UTF-8 came before it, or comes after it (a
    mixed file, in either order: reading it as Windows-1252 would garble the UTF-8 accents, so refused).
    Up to that first bad byte everything decoded was ASCII, which both encodings read alike, so switching
    mid-stream gives the text a whole-file Windows-1252 decode would.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.encoding = "utf-8"  # until the first bytes say "utf-8-sig" or a bad byte says "cp1252"
        self.ascii_prefix: int | None = None  # bytes read as ASCII before the switch to cp1252
        self._started = False
        self._start = b""  # the first bytes, held until there are enough to tell a BOM
        self._pending = b""  # an incomplete UTF-8 sequence at the end of the last block
        self._offset = 0  # bytes of the file consumed before `_pending`
        self._newlines = 0  # line breaks decoded so far: a bad byte's line is one more than those before it
        self._non_ascii = False  # whether valid non-ASCII UTF-8 has been decoded
        self._open = ""  # text after the last line break
        self._last: LastLine | None = None  # the last non-blank complete line
        self._tail = b""  # the last bytes of the previous Windows-1252 block: a UTF-8 sequence may straddle

    def feed(self, block: bytes) -> str:
        return self._decode(block, final=False)

    def finish(self) -> str:
        return self._decode(b"", final=True)

    @property
    def last_line(self) -> LastLine | None:
        if self._open.strip("\r"):
            return LastLine(self._open, self._newlines + 1)
        return self._last

    def _decode(self, block: bytes, final: bool) -> str:
        if not self._started:
            self._start += block
            # Enough bytes to tell a BOM, or UTF-16 without one, whatever size the blocks come in.
            if len(self._start) < _UTF16_SNIFF_BYTES and not final:
                return ""
            block, self._start, self._started = self._start, b"", True
            if block.startswith(codecs.BOM_UTF8):
                self.encoding, block, self._offset = "utf-8-sig", block[len(codecs.BOM_UTF8) :], 3
            elif block.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _looks_utf16(block):
                raise Rejection(
                    f"{self.name} is UTF-16 text; save it as CSV UTF-8 (or Windows-1252) and offer it again"
                )
        text = self._cp1252(block) if self.encoding == "cp1252" else self._utf8(block, final)
        self._track(text)
        return text

    def _utf8(self, block: bytes, final: bool) -> str:
        data = self._pending + block
        try:
            text, used = codecs.utf_8_decode(data, "strict", final)
        except UnicodeDecodeError as error:
            if self.encoding == "utf-8-sig":
                raise self._refusal(data, error.start, "UTF-8, although the file starts with a UTF-8 BOM") from None
            if self._non_ascii or not data[: error.start].isascii():
                raise self._refusal(data, error.start, "UTF-8, though earlier lines are (mixed encodings)") from None
            self.encoding, self.ascii_prefix, self._pending = "cp1252", self._offset, b""
            return self._cp1252(data)
        self._non_ascii = self._non_ascii or not text.isascii()
        self._offset += used
        self._pending = data[used:]
        return text

    def _cp1252(self, data: bytes) -> str:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as error:
            raise self._refusal(data, error.start, "UTF-8 or Windows-1252") from None
        joined = self._tail + data
        utf8 = _UTF8_SEQUENCE.search(joined)
        if utf8 is not None:
            start = utf8.start() - len(self._tail)
            line = self._newlines + data[: max(start, 0)].count(b"\n") + 1
            raise Rejection(
                f"{self.name}: line {line} is UTF-8, though earlier lines are Windows-1252 (mixed encodings); "
                "save the whole file as CSV UTF-8 and offer it again"
            )
        self._tail = joined[-3:]
        self._offset += len(data)
        return text

    def _refusal(self, data: bytes, start: int, what: str) -> Rejection:
        line = self._newlines + data[:start].count(b"\n") + 1
        return Rejection(f"{self.name}: byte 0x{data[start]:02X} on line {line} is not {what}")

    def _track(self, text: str) -> None:
        """Keep the last non-blank line and count line breaks, without holding more than the open line."""
        done, brk, rest = text.rpartition("\n")
        if not brk:
            self._open += text
            return
        first = self._newlines + 1  # the number of the line `self._open` began
        complete = (self._open + done).rstrip("\r\n")
        if complete:
            line = complete.rsplit("\n", 1)[-1]
            self._last = LastLine(line, first + complete.count("\n"))
        self._newlines += text.count("\n")
        self._open = rest


def _looks_utf16(start: bytes) -> bool:
    """NULs in at least 40% of the even or of the odd positions of the first bytes: UTF-16 LE or BE."""
    sniff = start[:_UTF16_SNIFF_BYTES]
    pairs = len(sniff) // 2
    if pairs < 2:
        return False
    return max(sniff[0::2].count(0), sniff[1::2].count(0)) >= _UTF16_NUL_SHARE * pairs


def decode(data: bytes, name: str) -> Decoded:
    """A whole file's bytes as text: the Decoder's rule, in one block."""
    decoder = Decoder(name)
    text = decoder.feed(data) + decoder.finish()
    return Decoded(text, decoder.encoding, decoder.last_line)


def utf8_source(path: Path) -> tuple[Path, Decoder]:
    """A file a CSV scanner can read as UTF-8: the file itself when its text is UTF-8, else a UTF-8 copy
    beside it (the caller removes it). The whole file streams through the Decoder, so it is refused exactly
    as `decode` would refuse it; the finished decoder also says what the last line is."""
    decoder = Decoder(path.name)
    copy = path.with_name(f".{path.name}.utf8.tmp")
    target: BinaryIO | None = None
    try:
        with path.open("rb") as source:
            while True:
                block = source.read(BLOCK_BYTES)
                text = decoder.feed(block) if block else decoder.finish()
                if target is None and decoder.ascii_prefix is not None:
                    target = copy.open("wb")
                    _copy_prefix(path, decoder.ascii_prefix, target)
                if target is not None:
                    target.write(text.encode("utf-8"))
                if not block:
                    break
    except BaseException:
        if target is not None:
            target.close()
        copy.unlink(missing_ok=True)
        raise
    if target is None:
        return path, decoder
    target.close()
    return copy, decoder


def _copy_prefix(path: Path, size: int, target: BinaryIO) -> None:
    """The bytes before the switch to cp1252 are ASCII, the same in UTF-8: copied as they are."""
    with path.open("rb") as source:
        while size > 0:
            block = source.read(min(size, BLOCK_BYTES))
            if not block:
                break
            target.write(block)
            size -= len(block)


def refuse_truncated(last: LastLine | None, width: int, header_row: int, name: str, fewest: int | None = None) -> None:
    """A file cut off mid-row would otherwise load its last row with blanks where the numbers were.

    `header_row` is the header's line: a file with no row after it has nothing to cut. A last line with an
    odd number of quotes may be the end of a quoted multi-line field, so it is not judged on its own (one
    with balanced quotes is: GIAS quotes every field)."""
    if last is None or last.number <= header_row or last.text.count('"') % 2 == 1:
        return
    try:
        fields = next(csv.reader([last.text]))
    except csv.Error:  # a field past Python's own limit: intake/structure.py refuses it naming row and column
        return
    if len(fields) < (width if fewest is None else fewest):  # fewer than a layout lets its rows leave out
        raise Rejection(
            f"{name}: row {last.number} has {len(fields)} of the header's {width} fields; the file looks truncated"
        )
