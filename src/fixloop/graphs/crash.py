"""A test hook for durability tests: die hard at a named point of the run.

Inert unless ``FIXLOOP_TEST_KILL_AT`` names the point (e.g. ``open_prs:after``).
With ``FIXLOOP_TEST_KILL_MARKER=<file>`` it fires only once: the file is
written before dying and a later process seeing it carries on, so a resumed
run passes the same point without dying again.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

KILL_AT_ENV = "FIXLOOP_TEST_KILL_AT"
KILL_MARKER_ENV = "FIXLOOP_TEST_KILL_MARKER"


def crash_point(name: str) -> None:
    """SIGKILL this process when the test hook names ``name``; otherwise do nothing."""
    wanted = os.environ.get(KILL_AT_ENV)
    if not wanted or name not in wanted.split(","):
        return
    marker = os.environ.get(KILL_MARKER_ENV)
    if marker:
        path = Path(marker)
        if path.exists():
            return
        path.write_text(name, encoding="utf-8")
    os.kill(os.getpid(), signal.SIGKILL)
