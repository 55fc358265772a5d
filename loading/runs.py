"""A run of several files: in which waves they are offered, and each file's outcome whatever its offer did.

The one copy of the run's rules, for both paths that run it: the Prefect flow `ingest-files` (each file a
task, on the task runner the settings name) and the hand-run path with no Prefect server (each file on a
thread here). Either hands `offer_files` a way to run one wave of files side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sendflow.core.files import sha256_of
from sendflow.core.settings import Settings
from sendflow.core.vocabulary import LoadStatus
from sendflow.loading.file_load import load_order
from sendflow.loading.offers import later_copies
from sendflow.loading.outcomes import FileOutcome
from sendflow.loading.pupil_files import shown_message, shown_name
from sendflow.loading.repeats import duplicate
from sendflow.warehouse import ledger
from sendflow.warehouse.connection import Warehouse

# Runs the files of one wave side by side; for each, its outcome, or the exception its offer died of.
RunWave = Callable[[list[Path]], Sequence[FileOutcome | BaseException]]


def waves(files: list[Path]) -> list[list[int]]:
    """Positions of the files in the order of their waves: files whose dataset looks up others' rows (pupil
    returns read dim_school) after the rest, and later copies of the same bytes after everything else, so
    each is the duplicate of its first and never a rival to it."""
    copies = later_copies(files)
    by_order: dict[int, list[int]] = {}
    for index, path in enumerate(files):
        if index not in copies:
            by_order.setdefault(load_order(path), []).append(index)
    ordered = [by_order[order] for order in sorted(by_order)]
    return [*ordered, sorted(copies)] if copies else ordered


def offer_files(
    files: list[Path], run_wave: RunWave, told: Callable[[FileOutcome], object] = lambda _: None
) -> list[FileOutcome]:
    """Every file's outcome, in the order given; one file's failure (a worker lost, the ledger unreachable)
    is that file's `failed` outcome, and the other files still run."""
    outcomes: dict[int, FileOutcome] = {}
    for wave in waves(files):
        for index, result in zip(wave, run_wave([files[i] for i in wave]), strict=True):
            if isinstance(result, FileOutcome):
                outcomes[index] = result
            else:
                outcomes[index] = FileOutcome(
                    str(files[index]), LoadStatus.FAILED, f"the load task failed: {type(result).__name__}"
                )
            told(outcomes[index])
    return [outcomes[index] for index in range(len(files))]


def in_threads(offer: Callable[[Path], FileOutcome], workers: int | None) -> RunWave:
    """A wave on a thread pool of this process (`workers`: None for Python's default)."""

    def run_wave(paths: list[Path]) -> list[FileOutcome | BaseException]:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sendflow-offer") as pool:
            futures = [pool.submit(offer, path) for path in paths]
            results: list[FileOutcome | BaseException] = []
            for future in futures:
                error = future.exception()
                results.append(error if error is not None else future.result())
            return results

    return run_wave


def offer_landed(
    landed: Path, sha256: str, settings: Settings, offer: Callable[[Path], FileOutcome]
) -> tuple[FileOutcome, bool]:
    """A file announced as landed with these bytes: offered (True), or answered without an offer (False) when it
    is gone or changed since. Safe to run twice for one announcement: the second finds the bytes in the
    ledger. After a load or duplicate the landed copy is deleted: bronze holds the bytes, and a pupil-level
    file should not linger in the landing zone."""
    answered = _missing_or_changed(landed, sha256, settings)
    if answered is not None:
        return answered, False
    outcome = offer(landed)
    if outcome.ok and landed.exists() and _inside(landed, settings.landing_dir / "processing"):
        landed.unlink(missing_ok=True)
    return outcome, True


def _missing_or_changed(landed: Path, sha256: str, settings: Settings) -> FileOutcome | None:
    warehouse = Warehouse(settings.warehouse_url)
    if not landed.is_file():
        previous = ledger.loaded_with_sha256(warehouse, sha256)
        if previous is None:
            missing = shown_message(f"{landed} is not there and those bytes were never loaded", landed)
            return FileOutcome(str(landed), LoadStatus.FAILED, missing)
        record = ledger.LoadRecord(shown_name(landed), sha256, LoadStatus.DUPLICATE, ledger.now())
        return duplicate(landed, record, previous, warehouse)
    found = sha256_of(landed)
    if found != sha256:
        return FileOutcome(
            str(landed), LoadStatus.FAILED,
            f"{shown_name(landed)} changed after it landed (SHA-256 {found[:12]}..., the event said {sha256[:12]}...); "
            "put it in the landing folder again to load it",
        )  # fmt: skip
    return None


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())
