"""A repeat: bytes offered again after a load published them, under whatever name. Its outcome is a
`duplicate` of that load, and nothing but its etl_load row is written.

The one copy of that rule, for each path that meets a repeat: a file's offer (loading/file_load.py), a
landed file gone by the time its run came (loading/runs.py), and a hand-run `sendflow ingest`, which answers
every repeat here first, with neither Polars, Arrow nor the datasets' code imported (cli/local.py): a
re-delivered file is told `duplicate` in well under a second, where importing the loader alone takes two.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sendflow.core.files import sha256_of
from sendflow.core.vocabulary import LoadStatus
from sendflow.loading import progress
from sendflow.loading.offers import one_offer_at_a_time
from sendflow.loading.outcomes import FileOutcome
from sendflow.loading.shown_names import source_label
from sendflow.registry.names import is_personal
from sendflow.warehouse import ledger
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.ledger import LoadRecord


def duplicate(path: Path, record: LoadRecord, previous: dict[str, Any], warehouse: Warehouse) -> FileOutcome:
    """Record `record` (its name, bytes and start already set) as a duplicate of the `previous` load."""
    record.status = LoadStatus.DUPLICATE
    record.dataset = previous["dataset"]
    earlier = source_label(previous["source_name"] or "", is_personal(record.dataset))  # a row from before
    record.message = f"same bytes as load {previous['load_id']} ({earlier}); nothing changed"
    load_id = ledger.record_outcome(warehouse, record)
    return FileOutcome(
        str(path), LoadStatus.DUPLICATE, record.message, record.dataset, load_id, name=record.source_name
    )


def answer_repeat(path: Path, warehouse: Warehouse, home: Path) -> FileOutcome | None:
    """The file's `duplicate` outcome, recorded and told (loading/progress), when its bytes were loaded;
    None, with nothing written or told, when they were not (the file is then offered in full). Its shown
    name is the one its offer would give it: the same bytes are the same dataset, and so as personal."""
    record = LoadRecord(
        source_name="", source_sha256=sha256_of(path), status=LoadStatus.FAILED, started_at=ledger.now(),
        source_bytes=path.stat().st_size,
    )  # fmt: skip
    with one_offer_at_a_time(home, record.source_sha256):  # a first offer of these bytes in flight decides
        previous = ledger.loaded_with_sha256(warehouse, record.source_sha256)
        if previous is None:
            return None
        record.source_name = source_label(path.name, is_personal(previous["dataset"]))
        key = progress.file_key(path)
        progress.emit(progress.FileStarted(record.source_name, key))
        outcome = duplicate(path, record, previous, warehouse)
    progress.emit(progress.FileFinished(outcome.name, key, outcome.status))
    return outcome
