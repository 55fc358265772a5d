"""Landed files after the fact: what became of a file left in processing/, where a rejected file went, and
the ledger's news told one line per outcome (what `sendflow serve` prints as loads finish)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sendflow.core.settings import Settings
from sendflow.core.vocabulary import Leftover, LoadStatus
from sendflow.loading.offers import being_offered
from sendflow.warehouse import ledger
from sendflow.warehouse.connection import Warehouse

REJECTED = "rejected"


def rejected_copy(landing_dir: Path, sha256: str, shown_name: str) -> Path:
    """Where a rejected file is kept, by its shown name (a pupil file's own name may be a pupil's)."""
    return landing_dir / REJECTED / f"{sha256[:12]}_{shown_name}"


def warehouse_exists(warehouse: Warehouse) -> bool:
    """Without creating it: a SQLite file is there (a PostgreSQL database is taken to be)."""
    return warehouse.dialect != "sqlite" or warehouse.sqlite_path.is_file()


@dataclass(frozen=True)
class LeftoverFate:
    kind: Leftover
    load_id: int | None = None
    message: str = ""


def leftover_fate(settings: Settings, sha256: str) -> LeftoverFate:
    """What to do with a file of these bytes found in processing/ with no run of this watcher's own on it."""
    if being_offered(settings.home, sha256):
        return LeftoverFate(Leftover.IN_FLIGHT)
    warehouse = Warehouse(settings.warehouse_url)
    if not warehouse_exists(warehouse):
        return LeftoverFate(Leftover.TAKE_OVER)
    try:
        latest = ledger.latest_with_sha256(warehouse, sha256)
    except Exception as error:  # no etl_load yet (a warehouse being created): nothing can have an outcome
        if "etl_load" in str(error):
            return LeftoverFate(Leftover.TAKE_OVER)
        raise
    if latest is None:
        return LeftoverFate(Leftover.TAKE_OVER)
    kind = Leftover.ALREADY_LOADED if latest["status"] == LoadStatus.LOADED else Leftover.HAS_OUTCOME
    return LeftoverFate(kind, int(latest["load_id"]), f"{latest['status']}: {latest['message'] or ''}")


class Leftovers:
    """The one rule for files left in processing/, whichever watcher finds them (served or hand-run): one with
    no outcome is handed on again, one whose bytes were loaded is cleared (bronze keeps them), one whose load
    failed is told once and left for a person; one being offered now is left alone."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.told: set[Path] = set()

    def handle(self, path: Path, sha256: str, shown: str, hand_on: Callable[[], str]) -> str | None:
        """What was done, for the watcher's report, or None when there is nothing new to say."""
        fate = leftover_fate(self.settings, sha256)
        if fate.kind is Leftover.TAKE_OVER:
            return f"took over {shown} (left with no outcome): {hand_on()}"
        if fate.kind is Leftover.ALREADY_LOADED:
            path.unlink(missing_ok=True)
            return f"cleared {shown}: its bytes are load {fate.load_id} (bronze keeps them)"
        if fate.kind is Leftover.HAS_OUTCOME and path not in self.told:
            self.told.add(path)
            return f"left {shown} in place: load {fate.load_id} {fate.message[:200]}"
        return None


class LedgerFollower:
    """Tells each etl_load row written after it began, once: loaded with its rows, duplicate of which load,
    rejected with the reason and where the file now lies. Reads only; waits for a warehouse to exist."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.warehouse = Warehouse(settings.warehouse_url)
        self.last_seen: int | None = None

    def _newest(self) -> int:
        rows = ledger.query(self.warehouse, "SELECT MAX(load_id) AS newest FROM etl_load")
        newest = rows["newest"][0] if rows.height else None
        return int(newest) if newest is not None else 0

    def start(self) -> None:
        """From now: loads already in the ledger are not told again."""
        self.last_seen = self._newest() if self._readable() else 0

    def _readable(self) -> bool:
        if not warehouse_exists(self.warehouse):
            return False
        try:
            ledger.query(self.warehouse, "SELECT 1 FROM etl_load WHERE 1 = 0")
        except Exception:  # the schema is being created by the first run
            return False
        return True

    def news(self) -> list[str]:
        if self.last_seen is None:
            self.start()
        if not self._readable():
            return []
        rows = ledger.loads_after(self.warehouse, self.last_seen or 0)
        if rows:
            self.last_seen = int(rows[-1]["load_id"])
        return [self.line(row) for row in rows]

    def line(self, row: dict[str, Any]) -> str:
        name, status, message = row["source_name"], row["status"], row["message"] or ""
        head = f"load {row['load_id']}: {name}:"
        if status == LoadStatus.LOADED:
            counts = f"{row['rows_loaded']:,} rows ({row['rows_quarantined']:,} quarantined)"
            return f"{head} loaded {counts} into {row['dataset']}"
        if status == LoadStatus.DUPLICATE:
            return f"{head} duplicate ({message})"
        if status == LoadStatus.REJECTED:
            kept = rejected_copy(self.settings.landing_dir, row["source_sha256"], name)
            where = f"; the file is in {kept}" if kept.exists() else ""
            return f"{head} rejected: {message}{where}"
        return f"{head} {status}: {message}"
