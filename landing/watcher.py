"""The landing folder's polling loop: sweep, hand each settled file on, report what became of each."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from sendflow.core.settings import Settings
from sendflow.landing.zone import Accepted, LandingZone

Deliver = Callable[[Accepted], str]  # takes an accepted file on; says what it did, for the report
Refused = Callable[[Path, str], object]  # told of each refused file: where it now lies, and why


def poll(
    settings: Settings,
    deliver: Deliver,
    refused: Refused,
    stop: threading.Event,
    once: bool = False,
    report: Callable[[str], None] = print,
) -> int:
    """Poll until `stop` is set (or, with `once`, until the folder has nothing left to settle); the number of
    files accepted or refused."""
    zone = LandingZone(settings)
    zone.prepare()
    interval, settle = settings.watch_interval_seconds, settings.watch_settle_seconds
    report(f"watching {zone.root} every {interval:g} s (a file is taken once unchanged for {settle:g} s)")
    handled = 0
    while not stop.is_set():
        swept = zone.sweep(time.monotonic())
        for path, reason in swept.refused:
            report(f"refused: {reason}; moved to {path}")
            refused(path, reason)
        for accepted in swept.accepted:
            report(f"accepted {accepted.source} -> {accepted.path}: {deliver(accepted)}")
        handled += len(swept.refused) + len(swept.accepted)
        if once and not zone.pending():
            break
        stop.wait(interval)
    return handled
