"""`sendflow watch`: take settled files from the landing folder and announce them.

With a Prefect server (PREFECT_API_URL, or under `sendflow serve`) each accepted file becomes a
`sendflow.extract.landed` event and the served `ingest-extract` deployment loads it. Without one,
nothing would hear the event, so the watcher loads each file itself through the same flow.
The polling itself is landing/watcher.py's.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from sendflow.core.settings import Settings
from sendflow.core.vocabulary import Leftover
from sendflow.flows import events
from sendflow.landing.watcher import Deliver, Recover, poll
from sendflow.landing.zone import Accepted
from sendflow.loading.landed import leftover_fate


def announce(accepted: Accepted) -> str:
    delivered = events.extract_landed(accepted.path, accepted.sha256, accepted.source)
    return "announced" if delivered else "not announced (no Prefect API to receive events)"


def load_here(accepted: Accepted) -> str:
    from sendflow.flows.ingest import ingest_extract

    return ingest_extract(str(accepted.path), accepted.sha256).line()


def delivery_for(mode: str) -> Deliver:
    """'events' announces, 'inline' loads in this process, 'auto' announces only where a server listens."""
    if mode == "auto":
        mode = "events" if os.environ.get("PREFECT_API_URL") else "inline"
    return announce if mode == "events" else load_here


def _recovery(settings: Settings, deliver: Deliver) -> Recover:
    """Files left in processing/ with no outcome are handed on as if they had just landed; those whose bytes
    were loaded are cleared (bronze keeps them); a failed one is told once and left for a person."""
    told: set[Path] = set()

    def _recover(left: Accepted) -> str | None:
        fate = leftover_fate(settings, left.sha256)
        if fate.kind is Leftover.TAKE_OVER:
            return f"took over {left.source} (left with no outcome): {deliver(left)}"
        if fate.kind is Leftover.ALREADY_LOADED:
            left.path.unlink(missing_ok=True)
            return f"cleared {left.source}: its bytes are load {fate.load_id} (bronze keeps them)"
        if fate.kind is Leftover.HAS_OUTCOME and left.path not in told:
            told.add(left.path)
            return f"left {left.source} in place: load {fate.load_id} {fate.message[:200]}"
        return None

    return _recover


def watch(
    settings: Settings,
    deliver: Deliver,
    stop: threading.Event,
    once: bool = False,
    report: Callable[[str], None] = print,
) -> int:
    """The landing poll, with each refused file announced as `sendflow.extract.refused`, and what was left in
    processing/ taken over."""
    return poll(
        settings, deliver, events.extract_refused, stop, once=once, report=report,
        recover=_recovery(settings, deliver),
    )  # fmt: skip
