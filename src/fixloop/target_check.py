"""Re-establish the world before a resumed or approved run tests again.

A run stopped half-way (Ctrl-C, a killed process, hours waiting for an approval) may find its target gone
or running another revision. Before it tests again, the target is checked — /health answers, at the
repository's revision — and, when it is the local one fixloop started (``fixloop target up``, the demo),
started again. A target that cannot be reached is not papered over: the tests then fail with connection
refused and the run ends with an environment report (``agents/report_only.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fixloop.config import Settings
from fixloop.errors import FixloopError
from fixloop.integrations.deploy.health import check_health
from fixloop.target import git_revision, restart_target, start_target, target_status

HEALTH_TIMEOUT = 3.0


@dataclass
class TargetCheck:
    url: str
    action: str  # running | started | restarted | start-failed | unreachable | reachable
    message: str

    @property
    def ok(self) -> bool:
        return self.action in ("running", "started", "restarted", "reachable")


def has_local_target(repo: Path) -> bool:
    """Whether fixloop manages a target for ``repo`` (a recorded ``fixloop target up`` or demo start)."""
    try:
        return target_status(repo) is not None
    except FixloopError:
        return True  # an unreadable record is still a local target: the check will say what is wrong


def reestablish_target(repo: Path, settings: Settings, *, local: bool) -> TargetCheck:
    """Check the target; start (or restart) the local one when it is down, unhealthy or at another revision."""
    if not local:
        url = settings.target.http_url.rstrip("/") + settings.target.health_path
        healthy, seen = check_health(url, None, timeout=HEALTH_TIMEOUT)
        return TargetCheck(url, "reachable" if healthy else "unreachable", seen)
    expected = git_revision(repo)
    try:
        info = target_status(repo)
        if info is not None and info.running:
            url = info.http_url.rstrip("/") + settings.target.health_path
            healthy, seen = check_health(url, None if expected == "unknown" else expected, timeout=HEALTH_TIMEOUT)
            if healthy:
                return TargetCheck(url, "running", seen)
            info = restart_target(repo)
            return TargetCheck(info.http_url, "restarted", f"restarted ({seen}); now at revision {info.revision[:12]}")
        info = start_target(repo, port=info.port if info is not None else None)
    except FixloopError as exc:
        return TargetCheck(
            settings.target.http_url, "start-failed", f"the target could not be started: {exc.one_line()}"
        )
    return TargetCheck(info.http_url, "started", f"the target was down: started again at revision {info.revision[:12]}")
