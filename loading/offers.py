"""One offer of the same bytes at a time, across threads and processes sharing a sendflow home.

The ledger makes a repeat a duplicate only once the first offer has published. Two offers of the same bytes
at once (a file dropped by hand while a pull fetched it, Prefect starting a run twice, `sendflow ingest a.csv
a-copy.csv`) would otherwise both be read, and the second could be rejected for what its name lacks (no year
in `resent.csv`) before the first was known. The second waits here for the first's outcome, then finds it.

An advisory lock (flock) per stripe of SHA-256 prefixes, under the home: flock conflicts between two open
files even in one process, so threads are kept apart as processes are; the kernel drops it when a holder
dies, so a killed loader never leaves an offer locked. 256 stripes bound the lock files; two different
files in one stripe merely wait for each other.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

OFFERS_FOLDER = "offers"


def _stripe(home: Path, sha256: str) -> Path:
    return home / OFFERS_FOLDER / f"{sha256[:2]}.lock"


@contextmanager
def one_offer_at_a_time(home: Path, sha256: str) -> Iterator[None]:
    """Held while the bytes are offered: checked against the ledger, loaded, recorded."""
    path = _stripe(home, sha256)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def being_offered(home: Path, sha256: str) -> bool:
    """True while some thread or process holds the offer of these bytes (or of bytes in the same stripe):
    what the landing watcher asks before it takes over a file left in processing/. Never creates the lock."""
    path = _stripe(home, sha256)
    if not path.exists():
        return False
    with open(path) as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
        return False


def later_copies(paths: list[Path]) -> set[int]:
    """Positions of files whose bytes equal an earlier file's in the same run: they are offered after the
    rest, so each is the duplicate of the first and never a rival to it. Only files of equal size are hashed
    (a large run of distinct files costs a stat each)."""
    from sendflow.core.files import sha256_of

    by_size: dict[int, list[int]] = {}
    for index, path in enumerate(paths):
        try:
            by_size.setdefault(path.stat().st_size, []).append(index)
        except OSError:
            continue  # unreadable: its own offer records why
    later: set[int] = set()
    for indexes in by_size.values():
        if len(indexes) < 2:
            continue
        first_of: dict[str, int] = {}
        for index in indexes:
            try:
                digest = sha256_of(paths[index])
            except OSError:
                continue
            if digest in first_of:
                later.add(index)
            else:
                first_of[digest] = index
    return later
