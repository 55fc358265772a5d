"""Progress of a run: events from the real load, drawn as plain lines off a terminal and in place on a real
pseudo-terminal; and the labels that tell apart two files of the same name."""

from __future__ import annotations

import io
import os
import select
import shutil
import termios
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from sendflow.cli.progress import ProgressDisplay, distinguishing_labels, outcome_lines, showing_progress
from sendflow.core.vocabulary import LoadStatus
from sendflow.loading.file_load import Context, ingest_path
from sendflow.loading.progress import (
    BatchChecked,
    FileFinished,
    FileStarted,
    ProgressEvent,
    emit,
    file_key,
    listening,
)
from sendflow.loading.pupil_files import shown_name
from tests.conftest import SAMPLE_DIR
from tests.pupils import HEADER, School, pupils, write_csv

CENSUS = SAMPLE_DIR / "england_census_2023-24.csv"


def _junk(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "notes.csv"
    path.write_text("what,why\n1,2\n")
    return path


def test_a_run_off_a_terminal_prints_one_plain_line_per_event(context: Context, tmp_path: Path) -> None:
    junk = _junk(tmp_path)
    stream = io.StringIO()

    with showing_progress([CENSUS, junk], stream=stream):
        loaded = ingest_path(CENSUS, None, context)
        rejected = ingest_path(junk, None, context)

    assert (loaded.status, rejected.status) == ("loaded", "rejected")
    assert stream.getvalue().splitlines() == [
        "[1/2] england_census_2023-24.csv: started",
        f"[1/2] england_census_2023-24.csv: batch 1, {loaded.rows_read:,} rows checked",
        "[1/2] england_census_2023-24.csv: loaded",
        "[2/2] notes.csv: started",
        "[2/2] notes.csv: rejected",
    ]
    assert "\r" not in stream.getvalue()


@contextmanager
def _pseudo_terminal(columns: int) -> Iterator[tuple[io.TextIOWrapper, int]]:
    primary, secondary = os.openpty()
    termios.tcsetwinsize(secondary, (24, columns))
    terminal = open(secondary, "w", encoding="utf-8")  # noqa: SIM115 - closed below, with its other end
    try:
        yield terminal, primary
    finally:
        terminal.close()
        os.close(primary)


def _read_all(primary: int) -> str:
    chunks = []
    while select.select([primary], [], [], 0.2)[0]:
        chunks.append(os.read(primary, 65536))
    return b"".join(chunks).decode("utf-8")


def test_on_a_terminal_one_line_is_redrawn_in_place_and_blanked_at_the_end(context: Context, tmp_path: Path) -> None:
    junk = _junk(tmp_path)
    with _pseudo_terminal(columns=100) as (terminal, primary):
        assert terminal.isatty()
        with showing_progress([CENSUS, junk], stream=terminal):
            loaded = ingest_path(CENSUS, None, context)
            ingest_path(junk, None, context)
        drawn = _read_all(primary)

    assert "\n" not in drawn
    frames = drawn.split("\r")
    assert [frame.rstrip() for frame in frames if frame.strip()] == [
        "[1/2] england_census_2023-24.csv: started",
        f"[1/2] england_census_2023-24.csv: batch 1, {loaded.rows_read:,} rows checked",
        "[1/2] england_census_2023-24.csv: loaded",
        "[2/2] notes.csv: started",
        "[2/2] notes.csv: rejected",
    ]
    # Each frame covers what the longer one before it left; the last blanks the line for the result lines.
    assert len(frames[3]) >= len(frames[2]) > len(frames[3].rstrip())
    assert drawn.endswith("\r") and not frames[-2].strip()


def test_on_a_narrow_terminal_the_line_is_cut_to_fit(tmp_path: Path) -> None:
    path = tmp_path / "a_file_with_a_rather_long_name_of_its_own_2023-24.csv"
    with _pseudo_terminal(columns=40) as (terminal, primary):
        with showing_progress([path], stream=terminal):
            emit(BatchChecked(shown_name(path), file_key(path), 12, 12_000_000))
        drawn = _read_all(primary)

    frame = drawn.split("\r")[1]
    assert frame == f"[1/1] {path.name}: batch 12, 12,000,000 rows checked"[:39]


def test_later_batches_are_counted_with_thousands_separators() -> None:
    stream = io.StringIO()
    display = ProgressDisplay(stream, total_files=5, labels={})
    for event in (
        FileStarted("a.csv", "ka"),
        FileStarted("england_census_2023-24.csv", "kb"),
        BatchChecked("england_census_2023-24.csv", "kb", 3, 3_000_000),
        FileFinished("a.csv", "ka", LoadStatus.DUPLICATE),
    ):
        display(event)

    assert stream.getvalue().splitlines()[2:] == [
        "[2/5] england_census_2023-24.csv: batch 3, 3,000,000 rows checked",
        "[1/5] a.csv: duplicate",
    ]


def test_files_loaded_in_worker_threads_are_numbered_in_the_order_they_start(context: Context, tmp_path: Path) -> None:
    files = [_junk(tmp_path / "a"), CENSUS, _junk(tmp_path / "b")]
    stream = io.StringIO()

    with showing_progress(files, stream=stream), ThreadPoolExecutor(max_workers=3) as pool:
        outcomes = list(pool.map(lambda path: ingest_path(path, None, context), files))

    assert [o.status for o in outcomes] == ["rejected", "loaded", "rejected"]
    lines = [line.partition(" ") for line in stream.getvalue().splitlines()]  # ('[2/3]', ' ', 'label: what')
    assert len(lines) == 3 + 1 + 3  # started and finished for each file, and the census's one batch
    assert [number for number, _, text in lines if text.endswith(": started")] == ["[1/3]", "[2/3]", "[3/3]"]
    numbers: dict[str, set[str]] = {}
    for number, _, text in lines:
        numbers.setdefault(text.split(": ")[0], set()).add(number)
    assert sorted(numbers) == ["a/notes.csv", "b/notes.csv", "england_census_2023-24.csv"]
    assert all(len(used) == 1 for used in numbers.values())  # each file keeps its number from start to finish


def test_without_a_listener_or_with_a_failing_one_the_load_is_unchanged(context: Context) -> None:
    def broken(event: ProgressEvent) -> None:
        raise OSError("the terminal went away")

    with listening(broken):
        outcome = ingest_path(CENSUS, None, context)

    assert outcome.status == "loaded", outcome.message
    emit(FileStarted("x.csv", "k"))  # nobody listens now: nothing happens, nothing raises


def test_a_pupil_files_own_name_never_travels_in_an_event(context: Context, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "A201361416001_Adams_spring_2024.csv", pupils(School("201", "3614", 4, 1, 1)))
    assert HEADER[0] in path.read_text()
    heard: list[ProgressEvent] = []
    lock = threading.Lock()

    def hear(event: ProgressEvent) -> None:
        with lock:
            heard.append(event)

    with listening(hear):
        outcome = ingest_path(path, None, context)

    assert heard and {event.name for event in heard} == {outcome.name} == {"~_~_spring_2024.csv"}
    assert not any("Adams" in repr(event) or "A201361416001" in repr(event) for event in heard)


def test_distinguishing_labels_add_only_the_folders_that_tell_files_apart() -> None:
    paths = [Path("/in/a/returns.csv"), Path("/in/b/returns.csv"), Path("/in/census.csv")]
    assert distinguishing_labels(paths, [p.name for p in paths]) == ["a/returns.csv", "b/returns.csv", "census.csv"]

    deeper = [Path("/x/2023/returns.csv"), Path("/y/2023/returns.csv"), Path("/y/2024/returns.csv")]
    assert distinguishing_labels(deeper, ["returns.csv"] * 3) == [
        "x/2023/returns.csv", "y/2023/returns.csv", "y/2024/returns.csv"
    ]  # fmt: skip

    alone = [Path("/in/a/returns.csv"), Path("/in/b/other.csv")]
    assert distinguishing_labels(alone, ["returns.csv", "other.csv"]) == ["returns.csv", "other.csv"]

    # Two pupil files redacted alike in one folder: only their own names differ, and those stay unshown.
    redacted = [Path("/in/A201361416001_Adams.csv"), Path("/in/A201361416002_Begum.csv")]
    assert distinguishing_labels(redacted, ["~_~.csv", "~_~.csv"]) == ["~_~.csv", "~_~.csv"]

    # The folders are shown, but a UPN-shaped one is still redacted.
    upn_folder = [Path("/in/A201361416001/returns.csv"), Path("/in/b/returns.csv")]
    assert distinguishing_labels(upn_folder, ["returns.csv"] * 2) == ["~/returns.csv", "b/returns.csv"]


def test_two_files_of_one_name_from_two_folders_are_told_apart_in_the_result_lines(
    context: Context, tmp_path: Path
) -> None:
    first, second = tmp_path / "from_la" / CENSUS.name, tmp_path / "from_trust" / CENSUS.name
    for copy in (first, second):
        copy.parent.mkdir()
        shutil.copyfile(CENSUS, copy)

    outcomes = [ingest_path(first, None, context), ingest_path(second, None, context)]
    lines = outcome_lines(outcomes)

    assert lines[0].startswith(f"from_la/{CENSUS.name}: loaded (school_census 2023/24")
    assert lines[1].startswith(f"from_trust/{CENSUS.name}: duplicate (same bytes as load 1")
    assert outcome_lines(outcomes[:1]) == [outcomes[0].line()]  # alone, a file keeps its shown name
