"""The running `sendflow serve` of a home, as it leaves word of itself in the home (`serve.json`).

A hand-run command of the same home reads it to use that service's Prefect server (so its events are heard
and its runs appear in the UI) and its file server (so links open), instead of a throwaway server of its own.
Word from a service that has died (its process gone, or its API not answering) is ignored.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from sendflow.core.files import atomic_write_bytes

SERVICE_FILE = "serve.json"
HEALTH_TIMEOUT_SECONDS = 1.0


@dataclass(frozen=True)
class RunningService:
    pid: int
    api_url: str  # the Prefect API, e.g. http://127.0.0.1:4200/api
    files_url: str  # the read-only file server of the home's published folders, e.g. http://127.0.0.1:4201/
    started_at: str
    children: tuple[int, ...] = ()  # its Prefect server and serving process, each the leader of its own group


def announce_service(home: Path, service: RunningService) -> Path:
    return atomic_write_bytes(home / SERVICE_FILE, (json.dumps(asdict(service), indent=2) + "\n").encode("utf-8"))


def withdraw_service(home: Path, pid: int) -> None:
    """Only the service's own word: a newer service of the home may have replaced it."""
    recorded = _recorded(home)
    if recorded is not None and recorded.pid == pid:
        (home / SERVICE_FILE).unlink(missing_ok=True)


def _recorded(home: Path) -> RunningService | None:
    try:
        recorded = json.loads((home / SERVICE_FILE).read_text(encoding="utf-8"))
        return RunningService(**{**recorded, "children": tuple(recorded.get("children", ()))})
    except (OSError, ValueError, TypeError):
        return None


def _ours(pid: int) -> bool:
    """A live process that is still a sendflow or Prefect one: a pid can be reused once its process is gone."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"prefect" in command or b"sendflow" in command


def left_running(home: Path) -> list[int]:
    """Children of a service that died without stopping them (killed outright): they would go on serving a
    stale server, and a served run of theirs could still be loading."""
    recorded = _recorded(home)
    if recorded is None or _alive(recorded.pid):
        return []
    return [pid for pid in recorded.children if _alive(pid) and _ours(pid)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive, though not ours to signal
        return True
    return True


def running_service(home: Path) -> RunningService | None:
    """The home's service, if its process lives and its Prefect API answers."""
    recorded = _recorded(home)
    if recorded is None or recorded.pid == os.getpid() or not _alive(recorded.pid):
        return None
    import httpx

    try:
        answered = httpx.get(f"{recorded.api_url}/health", timeout=HEALTH_TIMEOUT_SECONDS).status_code == 200
    except httpx.HTTPError:
        return None
    return recorded if answered else None
