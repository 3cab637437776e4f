"""Log sources: ``file`` (JSON lines in LogEntry shape) and ``cloud-logging`` (google-cloud-logging)."""

from __future__ import annotations

from pathlib import Path

from fixloop.config import Settings
from fixloop.errors import NotReadyError
from fixloop.interfaces import LogSource


def build_log_source(settings: Settings, repo: Path) -> LogSource | None:
    """The configured backend (a string registry), or None when no logs are configured."""
    raise NotReadyError("log sources land with issue #4")
