"""Bytes to text: UTF-8 (with or without BOM) or Windows-1252, one rule for every file size; and the
truncation check."""

from __future__ import annotations

import codecs
import csv
import re
from pathlib import Path

from sendflow.intake.raw import Rejection

_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


def _undecodable(data: bytes, error: UnicodeDecodeError, name: str, what: str) -> Rejection:
    line = data[: error.start].count(b"\n") + 1
    return Rejection(f"{name}: byte 0x{data[error.start]:02X} on line {line} is not {what}")


def decode(data: bytes, name: str) -> tuple[str, str]:
    """UTF-8 (with or without BOM), else Windows-1252 (GIAS exports). Anything else is refused, not guessed."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as error:
            error.start += len(codecs.BOM_UTF8)
            raise _undecodable(data, error, name, "UTF-8, although the file starts with a UTF-8 BOM") from error
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise Rejection(f"{name} is UTF-16 text; save it as CSV UTF-8 (or Windows-1252) and offer it again")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as error:
        utf8_error = error
    if _UTF8_MULTIBYTE.search(data[: utf8_error.start]):
        # Valid UTF-8 accents before the bad byte: a mixed file; reading it as cp1252 would garble them.
        raise _undecodable(data, utf8_error, name, "UTF-8, though earlier lines are (mixed encodings)")
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as error:
        raise _undecodable(data, error, name, "UTF-8 or Windows-1252") from error


def as_utf8(path: Path) -> Path:
    """The file itself when it is UTF-8; else a UTF-8 copy of its Windows-1252 text, decoded in blocks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        try:
            for block in iter(lambda: handle.read(1 << 22), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
            return path
        except UnicodeDecodeError:
            pass
    copy = path.with_name(f".{path.name}.utf8.tmp")
    with path.open("rb") as source, copy.open("w", encoding="utf-8", newline="") as target:
        for block in iter(lambda: source.read(1 << 22), b""):
            try:
                target.write(block.decode("cp1252"))
            except UnicodeDecodeError as error:
                copy.unlink(missing_ok=True)
                raise Rejection(f"{path.name} is neither UTF-8 nor Windows-1252") from error
    return copy


def refuse_truncated_last_row(text: str, width: int, rows: int, name: str) -> None:
    """A file cut off mid-row would otherwise load its last row with blanks where the numbers were."""
    tail = text.rstrip("\r\n").rsplit("\n", 3)[-1]
    if rows == 0 or not tail or '"' in tail:
        return
    fields = next(csv.reader([tail]))
    if len(fields) < width:
        raise Rejection(
            f"{name}: row {rows + 1} has {len(fields)} of the header's {width} fields; the file looks truncated"
        )


def refuse_truncated_tail(path: Path, width: int, name: str) -> None:
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - 4096))
        tail = handle.read().decode("utf-8", errors="replace")
    lines = tail.rstrip("\r\n").rsplit("\n", 1)
    if len(lines) == 2 and '"' not in lines[1] and len(next(csv.reader([lines[1]]))) < width:
        raise Rejection(f"{name}: its last row has fewer fields than the header's {width}; the file looks truncated")
