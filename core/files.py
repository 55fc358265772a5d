"""Files as sendflow handles them: written so that no reader ever sees half of one (a temporary name beside
it, then a rename), and known by the SHA-256 of their bytes."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def temporary_beside(path: Path) -> Path:
    """A hidden name of this writer's own in the target's folder: two processes may write one target at once,
    and then the last rename wins with a whole file. Same folder, so the rename is atomic."""
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")


@contextmanager
def atomic_path(path: Path, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `path` (with `mode`, if given), on error it
    is removed and `path` is untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_beside(path)
    try:
        yield temporary
        if mode is not None:
            temporary.chmod(mode)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def atomic_write_bytes(path: Path, content: bytes, mode: int | None = None) -> Path:
    with atomic_path(path, mode) as temporary:
        temporary.write_bytes(content)
    return path


def atomic_write_with(path: Path, write: Callable[[Path], object], mode: int | None = None) -> Path:
    """`write(temporary)` fills the temporary file (a Parquet writer, a copy, an XLSX workbook...)."""
    with atomic_path(path, mode) as temporary:
        write(temporary)
    return path


def sha256_of(path: Path) -> str:
    """A file's identity in the ledger, bronze and the landing zone: the SHA-256 of its bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
