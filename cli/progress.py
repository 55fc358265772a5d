"""What a run shows while it works and the names it shows its files by.

Progress goes to stderr, so stdout keeps exactly one result line per file for the tools that read it. On a
terminal it is one line redrawn in place ('\\r'); elsewhere (a log, a pipe) one plain line per event.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from sendflow.loading.outcomes import FileOutcome
from sendflow.loading.progress import BatchChecked, FileFinished, FileStarted, ProgressEvent, file_key, listening
from sendflow.loading.shown_names import source_label


class ProgressDisplay:
    """A listener (loading/progress) that draws a run's events: '[2/5] name: batch 3, 3,000,000 rows checked'.
    Files are numbered in the order they start, which is the order a person sees them begin; events come from
    the task runner's worker threads, so drawing is serialised."""

    def __init__(self, stream: TextIO, total_files: int, labels: Mapping[str, str]) -> None:
        self.stream = stream
        self.total_files = total_files
        self.labels = labels  # file_key -> the name to show, where the run knows it better than the event
        self.in_place = stream.isatty()
        self._numbers: dict[str, int] = {}
        self._drawn = 0  # width of the line now on the terminal, to blank what a shorter one leaves behind
        self._lock = threading.Lock()

    def __call__(self, event: ProgressEvent) -> None:
        with self._lock:
            self._show(self._text(event))

    def _text(self, event: ProgressEvent) -> str:
        number = self._numbers.setdefault(event.key, len(self._numbers) + 1)
        prefix = f"[{number}/{max(self.total_files, number)}] {self.labels.get(event.key, event.name)}"
        match event:
            case FileStarted():
                return f"{prefix}: started"
            case BatchChecked(batch=batch, rows_read=rows):
                return f"{prefix}: batch {batch}, {rows:,} rows checked"
            case FileFinished(status=status):
                return f"{prefix}: {status}"

    def _show(self, text: str) -> None:
        if not self.in_place:
            self.stream.write(text + "\n")
            self.stream.flush()
            return
        text = text[: self._width() - 1]  # a line longer than the terminal wraps, and '\r' then redraws only its end
        self.stream.write("\r" + text.ljust(self._drawn))
        self.stream.flush()
        self._drawn = len(text)

    def _width(self) -> int:
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            columns = 0
        return columns or shutil.get_terminal_size().columns  # a new pseudo-terminal says 0 columns

    def close(self) -> None:
        """Blank the redrawn line, so the result lines that follow start on a clean line."""
        with self._lock:
            if self.in_place and self._drawn:
                self.stream.write("\r" + " " * self._drawn + "\r")
                self.stream.flush()
                self._drawn = 0


@contextmanager
def showing_progress(paths: Sequence[Path | str], stream: TextIO | None = None) -> Iterator[ProgressDisplay]:
    """Show the progress of loading these files (the paths as handed to the flow) on `stream`, stderr unless
    told, while the block runs; files whose shown names collide are shown with their folders."""
    files = [Path(p) for p in paths]
    labels: dict[str, str] = {}
    if len({_folders(p) for p in files}) > 1:  # in one folder, no two are told apart by it: events name them
        from sendflow.loading.pupil_files import shown_name  # reads each head (the loader's imports: seconds)

        shown = distinguishing_labels(files, [shown_name(p) for p in files])
        labels = dict(zip(map(file_key, files), shown, strict=True))
    display = ProgressDisplay(stream or sys.stderr, len(files), labels)
    try:
        with listening(display):
            yield display
    finally:
        display.close()


def distinguishing_labels(paths: Sequence[Path], shown: Sequence[str]) -> list[str]:
    """Each file's shown name, prefixed with just enough of its folders to tell it from the run's other files
    of the same shown name ('a/returns.csv', 'b/returns.csv'); unchanged where no other file has that name.
    Files of one shown name in the same folder (two pupil returns redacted alike) stay alike: only their own
    names differ, and those are not shown. The folders are the ones the person running the command named;
    a UPN-shaped part of one is still redacted."""
    labels = list(shown)
    same_name: dict[str, list[int]] = {}
    for index, name in enumerate(shown):
        same_name.setdefault(name, []).append(index)
    for name, indexes in same_name.items():
        folders = [_folders(paths[index]) for index in indexes]
        distinct = len(set(folders))
        if distinct < 2:
            continue
        depth = next(d for d in range(1, max(map(len, folders)) + 1) if len({f[-d:] for f in folders}) == distinct)
        for index, parts in zip(indexes, folders, strict=True):
            labels[index] = "/".join([*(source_label(part, personal=False) for part in parts[-depth:]), name])
    return labels


def _folders(path: Path) -> tuple[str, ...]:
    parent = Path(os.path.abspath(path)).parent
    return parent.relative_to(parent.anchor).parts


def outcome_lines(outcomes: Sequence[FileOutcome]) -> list[str]:
    """One result line per file, for stdout: each named as distinguishing_labels names it."""
    labels = distinguishing_labels([Path(o.path) for o in outcomes], [o.name for o in outcomes])
    return [replace(outcome, name=label).line() for outcome, label in zip(outcomes, labels, strict=True)]
