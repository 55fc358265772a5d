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

from sendflow.core.settings import Settings
from sendflow.flows import events
from sendflow.landing.watcher import Deliver, Recover, poll
from sendflow.landing.zone import Accepted
from sendflow.loading.landed import Leftovers


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
    leftovers = Leftovers(settings)
    return lambda left: leftovers.handle(left.path, left.sha256, left.source, lambda: deliver(left))


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
