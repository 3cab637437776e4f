"""The run page's live stream (Server-Sent Events): the status, new progress lines, and ``changed`` whenever the
record moved (a phase, a category, a PR, a decision, a deploy, a page notice) so the page re-reads its body.

Polls run.json through the runner, like ``events.run_events`` (which stays the stream of the bearer-token API).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio

from fixloop.errors import FixloopError, RunNotFoundError
from fixloop.server.events import sse
from fixloop.server.progress import item_payload, progress_items
from fixloop.server.runner import TERMINAL, Runner


def fingerprint(run: dict[str, Any], notices: list[str]) -> str:
    """What the page shows, summarised: when it changes the page re-reads itself."""
    iterations = run.get("iterations") or []
    sizes = [len(run.get(key) or []) for key in ("phases", "prs", "approvals", "deploys", "events", "test_runs")]
    cats = [len(it.get("categories") or []) for it in iterations if isinstance(it, dict)]
    states = [str(pr.get("state")) for pr in run.get("prs") or [] if isinstance(pr, dict)]
    shown = json.dumps([run.get("status"), sizes, cats, states, len(run.get("categories") or []), notices])
    return hashlib.sha256(shown.encode()).hexdigest()[:16]


async def page_events(
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
    seen: set[str] = set()
    last_status: str | None = None
    last_print: str | None = since or None
    ended_at: float | None = None
    waited = 0.0
    while waited <= max_seconds:
        try:
            run: dict[str, Any] | None = await anyio.to_thread.run_sync(runner.status, thread_id)
        except RunNotFoundError:
            run = None
        except FixloopError as exc:
            yield sse("error", {"message": exc.one_line()})
            return
        if run is not None:
            status = str(run.get("status", ""))
            if status != last_status:
                last_status = status
                yield sse("status", {"thread_id": thread_id, "status": status})
            for item in progress_items(run):
                if item.key not in seen:
                    seen.add(item.key)
                    yield sse("progress", item_payload(item))
            current = fingerprint(run, notices())
            if last_print is not None and current != last_print:
                yield sse("changed", {"thread_id": thread_id, "status": status})
            last_print = current
            if status in TERMINAL:
                ended_at = waited if ended_at is None else ended_at
                if waited - ended_at >= grace:  # what the decision's answer adds comes just after the status
                    yield sse("end", {"thread_id": thread_id, "status": status})
                    return
        else:
            yield ": waiting for the run's first checkpoint\n\n"
        await anyio.sleep(interval)
        waited += interval
    yield sse("end", {"thread_id": thread_id, "status": last_status, "reason": "stream time limit"})
