"""The run page's live stream (Server-Sent Events): the status, new progress lines, and ``changed`` whenever the
record moved (a phase, a category, a PR, a decision, a deploy, a page notice) so the page re-reads its body.

The polling, status and progress lines are ``events.run_events`` (the bearer-token API's stream); this adds
``changed`` and the end's grace.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from fixloop.server.events import run_events, sse
from fixloop.server.runner import TERMINAL, Runner


def fingerprint(run: dict[str, Any], notices: list[str]) -> str:
    """What the page shows, summarised: when it changes the page re-reads itself."""
    iterations = run.get("iterations") or []
    sizes = [len(run.get(key) or []) for key in ("phases", "prs", "approvals", "deploys", "events", "test_runs")]
    cats = [len(it.get("categories") or []) for it in iterations if isinstance(it, dict)]
    states = [str(pr.get("state")) for pr in run.get("prs") or [] if isinstance(pr, dict)]
    shown = json.dumps([run.get("status"), sizes, cats, states, len(run.get("categories") or []), notices])
    return hashlib.sha256(shown.encode()).hexdigest()[:16]


class _PageWatch:
    """After each read: ``changed`` when the fingerprint moved; the end ``grace`` seconds after a terminal status."""

    def __init__(self, thread_id: str, notices: Callable[[], list[str]], since: str | None, grace: float) -> None:
        self.thread_id, self.notices, self.grace = thread_id, notices, grace
        self.last_print: str | None = since or None
        self.ended_at: float | None = None

    def __call__(self, run: dict[str, Any], status: str, waited: float) -> tuple[list[str], bool]:
        lines = []
        current = fingerprint(run, self.notices())
        if self.last_print is not None and current != self.last_print:
            lines.append(sse("changed", {"thread_id": self.thread_id, "status": status}))
        self.last_print = current
        if status not in TERMINAL:
            return lines, False
        self.ended_at = waited if self.ended_at is None else self.ended_at
        return lines, waited - self.ended_at >= self.grace  # the decision's answer comes just after the status


def page_events(
    runner: Runner,
    thread_id: str,
    *,
    notices: Callable[[], list[str]],
    interval: float,
    since: str | None = None,
    max_seconds: float = 3600.0,
    grace: float = 10.0,
) -> AsyncIterator[str]:
    """The stream of ``thread_id``; ``since`` is the fingerprint the page was rendered with (a change between the
    render and this connection is then sent as ``changed`` too). At a terminal status it keeps watching for ``grace``
    seconds (the answer of the decision that ended the run lands just after), then sends ``end``."""
    watch = _PageWatch(thread_id, notices, since, grace)
    return run_events(runner, thread_id, interval=interval, max_seconds=max_seconds, after=watch)
