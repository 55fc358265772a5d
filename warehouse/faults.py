"""A named point where a test can stop the loader dead, to prove that killing it there loses nothing.

Set SENDFLOW_FAULT_AT to a point's name and SENDFLOW_FAULT_MARKER to a file path: on reaching the point
the loader writes the marker and waits, so the test can SIGKILL it at exactly that moment (or, with
SENDFLOW_FAULT_PAUSE seconds, goes on after that long, so a second loader can be started against it).
Unset (always, outside tests) it costs one environment lookup.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def fault_point(name: str) -> None:
    if os.environ.get("SENDFLOW_FAULT_AT") != name:
        return
    marker = os.environ.get("SENDFLOW_FAULT_MARKER")
    if marker:
        Path(marker).write_text(name, encoding="utf-8")
    pause = os.environ.get("SENDFLOW_FAULT_PAUSE")
    if pause:
        time.sleep(float(pause))
        return
    while True:  # held here until the test kills the process
        time.sleep(1)
