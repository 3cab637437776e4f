"""Exit codes a CI job can act on (the table is in the README, "Exit codes").

A command that drives a run (``run``, ``demo``, ``resume``, ``approve``, ``reject``) exits with the
code of the status the run ended in; ``demo`` exits 0 when its scenario ended as expected. The other
codes keep their meaning from before: 1 a check failed or an error a user can cause, 2 bad usage or
settings, 3 an approval refused, 70 an internal error, 130/143 stopped by SIGINT/SIGTERM.
"""

from __future__ import annotations

import signal
from typing import Any

GREEN = 0
ERROR = 1  # an error fixloop reports in one line (a service down, a run stopped on an error), or a failed check
USAGE = 2  # bad flags, paths or settings
APPROVAL_REFUSED = 3  # not an approver, four-eyes
AWAITING_APPROVAL = 10
DIAGNOSED = 11
GAVE_UP = 12
INTERNAL = 70
STOPPED_SIGINT = 128 + signal.SIGINT  # 130
STOPPED_SIGTERM = 128 + signal.SIGTERM  # 143

BY_STATUS: dict[str, int] = {
    "green": GREEN,
    "awaiting_approval": AWAITING_APPROVAL,
    "diagnosed": DIAGNOSED,
    "gave_up": GAVE_UP,
    "error": ERROR,
    "running": ERROR,  # a command that returns while its run is unfinished did not do its job
}


def for_status(doc: dict[str, Any]) -> int:
    """The exit code of a run's status (run.json ``status``)."""
    return BY_STATUS.get(str(doc.get("status", "error")), ERROR)


def for_stop_signal(signum: int) -> int:
    return 128 + signum
