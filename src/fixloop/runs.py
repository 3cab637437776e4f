"""The one place that starts, resumes, approves, rejects and reads runs.

The CLI and the server both call these functions; neither drives the graph by
itself. (Stubs until the remediation-graph issue lands: the signatures are the
contract the CLI, the server and the bots code against.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fixloop.errors import NotReadyError

RunStatus = Literal["running", "green", "awaiting_approval", "gave_up", "diagnosed", "error"]
Source = Literal["cli", "slack", "github", "api"]


@dataclass
class RunRequest:
    """Intake: everything a run needs to start, whoever asked."""

    repo: Path
    focus: str
    requested_by: str = "cli"
    source: Source = "cli"
    llm: Literal["none", "scripted", "openai"] = "none"
    config_file: Path | None = None
    out_dir: Path | None = None
    max_iterations: int | None = None
    stop_at: Literal["diagnose", "patch", "pr", "merge"] = "pr"
    scenario: str | None = None  # for the scripted model: whose gold patch it replays
    checkpointer: str | None = None  # sqlite path or postgresql:// URL; default sqlite in FIXLOOP_HOME
    thread_id: str | None = None  # chosen by the caller (e.g. a Slack thread), else generated
    extra: dict[str, Any] = field(default_factory=dict)


def start_run(request: RunRequest) -> str:
    """Start a run (in this process, until it ends or interrupts) and return its thread id."""
    raise NotReadyError("runs are not available yet: they land with issue #5")


def resume_run(thread_id: str, *, checkpointer: str | None = None) -> dict[str, Any]:
    """Continue an interrupted run from its last checkpoint; return its run.json."""
    raise NotReadyError("runs are not available yet: they land with issue #5")


def approve_run(thread_id: str, *, by: str, source: Source = "cli", checkpointer: str | None = None) -> dict[str, Any]:
    """Record an approval (checked against the approval rules) and resume; return run.json."""
    raise NotReadyError("approvals are not available yet: they land with issue #6")


def reject_run(
    thread_id: str, *, by: str, reason: str, source: Source = "cli", checkpointer: str | None = None
) -> dict[str, Any]:
    """Record a rejection, send the reason to the fixer, resume; return run.json."""
    raise NotReadyError("approvals are not available yet: they land with issue #6")


def run_status(thread_id: str, *, checkpointer: str | None = None) -> dict[str, Any]:
    """The run's current run.json (raise RunNotFoundError for an unknown thread)."""
    raise NotReadyError("runs are not available yet: they land with issue #5")


def list_runs(*, checkpointer: str | None = None) -> list[dict[str, Any]]:
    """One summary per known run: thread_id, focus, status, updated."""
    raise NotReadyError("runs are not available yet: they land with issue #5")
