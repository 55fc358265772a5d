"""How far a load has got, for whoever is watching in this process: a file started, a batch checked, a file
finished. The CLI installs a listener that draws them on the terminal (cli/progress.py); Prefect's thread task
runner loads files in worker threads of the same process, so listeners are process-wide and called from any
thread. Where nobody listens (a Dask worker, the service, the tests) emitting costs a lock and does nothing.

An event names a file by its shown name (loading/pupil_files.shown_name), never by its own name, and by a key
of its path that names nothing (`file_key`), so a listener that knows the paths of a run can tell apart two
files whose shown names are the same.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from sendflow.core.vocabulary import LoadStatus


@dataclass(frozen=True)
class FileStarted:
    name: str  # shown name
    key: str  # file_key of its path


@dataclass(frozen=True)
class BatchChecked:
    name: str
    key: str
    batch: int  # 1 for the first batch of the file
    rows_read: int  # rows of the file read so far, this batch's included


@dataclass(frozen=True)
class FileFinished:
    name: str
    key: str
    status: LoadStatus


ProgressEvent = FileStarted | BatchChecked | FileFinished
Listener = Callable[[ProgressEvent], None]

_listeners: list[Listener] = []
_lock = threading.Lock()


def file_key(path: Path | str) -> str:
    """The same short key for a path however it was spelt (relative, with '..'), from which its name cannot
    be read back in a glance: it travels in events where a pupil file's own name must not."""
    absolute = os.path.abspath(path)
    return hashlib.blake2b(absolute.encode("utf-8", "surrogateescape"), digest_size=8).hexdigest()


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Call `listener` with every event emitted in this process, from any thread, until the block ends."""
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)


def emit(event: ProgressEvent) -> None:
    """Hand the event to every listener. Progress is for show: a listener that fails (a closed terminal) must
    not change the file's outcome, so its error is dropped and the load goes on."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        with suppress(Exception):
            listener(event)
