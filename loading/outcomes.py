"""What became of one offered file: what a run reports, the flows return, and the CLI prints.

Light on purpose (no Polars, no registry): a repeat offer is answered with it before either is imported."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sendflow.core.vocabulary import LoadStatus
from sendflow.registry.partitions import Partition


@dataclass(frozen=True)
class FileOutcome:
    path: str = field(repr=False)  # the file's own name may be a pupil's: `name` is what is shown
    status: LoadStatus
    message: str  # for people: what was replaced ("2023/24/spring (7 urns)"), counts; nothing parses it
    dataset: str | None = None
    load_id: int | None = None
    partitions: tuple[Partition, ...] = ()  # what a load replaced (registry/partitions.py)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    checks_failed: tuple[tuple[str, int], ...] = ()  # (check, rows failing it), file-level checks with 0
    docs_pages: tuple[str, ...] = ()  # GX Data Docs pages, one per validated batch that GX checked
    name: str = ""  # the file as it may be shown (loading.pupil_files.shown_name), never its own name

    def __post_init__(self) -> None:
        if not self.name:  # the same remembered decision the ledger row was written with
            from sendflow.loading.pupil_files import shown_name  # reads the file's head: not for a repeat

            object.__setattr__(self, "name", shown_name(Path(self.path)))

    @property
    def ok(self) -> bool:
        return self.status.ok

    def line(self) -> str:
        if self.status.ok:
            return f"{self.name}: {self.status} ({self.message})"
        return f"{self.name}: {self.status}: {self.message}"
