"""Start, stop and inspect a target system as a real process (the example chat backend).

State lives in ``<repo>/.fixloop/target.json`` (pid, port, urls, log file, revision).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fixloop.errors import NotReadyError


@dataclass
class TargetInfo:
    pid: int
    port: int
    http_url: str
    ws_url: str
    log_file: str
    revision: str
    started_at: str
    running: bool = True


def start_target(repo: Path, *, port: int | None = None, env: dict[str, str] | None = None) -> TargetInfo:
    """Start the target from ``repo``'s checked-out commit, wait until /health answers, return its info."""
    raise NotReadyError("target management lands with issue #2")


def stop_target(repo: Path) -> bool:
    """Stop the target started from ``repo``; False when none was running."""
    raise NotReadyError("target management lands with issue #2")


def target_status(repo: Path) -> TargetInfo | None:
    """The recorded target of ``repo`` (``running`` says whether its process is alive), or None."""
    raise NotReadyError("target management lands with issue #2")


def test_env(repo: Path) -> dict[str, str]:
    """Env vars the target's own tests need (URLs, token secret) for the running target; {} if none."""
    raise NotReadyError("target management lands with issue #2")


test_env.__test__ = False  # type: ignore[attr-defined]
