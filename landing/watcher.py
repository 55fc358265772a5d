"""The landing folder's polling loop: sweep, hand each settled file on, report what became of each; and, at
start and every so often, look in processing/ for files handed on before that never reached an outcome."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from sendflow.core.settings import Settings
from sendflow.landing.zone import Accepted, LandingZone

Deliver = Callable[[Accepted], str]  # takes an accepted file on; says what it did, for the report
Refused = Callable[[Path, str], object]  # told of each refused file: where it now lies, and why
# Given a file found left in processing/, decides (from the ledger) and acts: hands it on again, clears it, or
# leaves it; says what it did, or None when there is nothing new to say.
Recover = Callable[[Accepted], str | None]


def poll(
    settings: Settings,
    deliver: Deliver,
    refused: Refused,
    stop: threading.Event,
    once: bool = False,
    report: Callable[[str], None] = print,
    recover: Recover | None = None,
) -> int:
    """Poll until `stop` is set (or, with `once`, until the folder has nothing left to settle); the number of
    files accepted or refused."""
    zone = LandingZone(settings)
    zone.prepare()
    interval, settle = settings.watch_interval_seconds, settings.watch_settle_seconds
    report(f"watching {zone.root} every {interval:g} s (a file is taken once unchanged for {settle:g} s)")
    handled = 0
    # At start, whatever is in processing/ was left by an earlier run: taken once settled. After that, a file
    # there is given time for the run it was announced to (its event heard, its run queued and started).
    older_than, next_recovery = settle, 0.0
    while not stop.is_set():
        now = time.monotonic()
        if recover is not None and now >= next_recovery:
            for left in zone.left_in_processing(time.time(), older_than):
                said = recover(left)
                if said:
                    report(said)
            older_than, next_recovery = settings.watch_stranded_seconds, now + settings.watch_recover_seconds
        swept = zone.sweep(now)
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
