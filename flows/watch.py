"""`sendflow watch`: take settled files from the landing folder and announce them.

With a Prefect server (PREFECT_API_URL, or under `sendflow serve`) each accepted file becomes a
`sendflow.extract.landed` event and the served `ingest-extract` deployment loads it. Without one,
nothing would hear the event, so the watcher loads each file itself through the same flow.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from sendflow.core.settings import Settings
from sendflow.flows import events
from sendflow.landing.zone import Accepted, LandingZone

log = logging.getLogger("sendflow.watch")

Deliver = Callable[[Accepted], str]


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


def watch(
    settings: Settings,
    deliver: Deliver,
    stop: threading.Event,
    once: bool = False,
    report: Callable[[str], None] = print,
) -> int:
    """Poll until `stop` is set (or, with `once`, until the folder has nothing left to settle)."""
    zone = LandingZone(settings)
    zone.prepare()
    interval, settle = settings.watch_interval_seconds, settings.watch_settle_seconds
    report(f"watching {zone.root} every {interval:g} s (a file is taken once unchanged for {settle:g} s)")
    handled = 0
    while not stop.is_set():
        swept = zone.sweep(time.monotonic())
        for path, reason in swept.refused:
            report(f"refused: {reason}; moved to {path}")
            events.extract_refused(path, reason)
        for accepted in swept.accepted:
            report(f"accepted {accepted.source} -> {accepted.path}: {deliver(accepted)}")
        handled += len(swept.refused) + len(swept.accepted)
        if once and not zone.pending():
            break
        stop.wait(settings.watch_interval_seconds)
    return handled
