"""Live progress of a run as Server-Sent Events.

The stream polls run.json (through the runner, so it works for a run driven by any
``serve`` process sharing the checkpointer) and sends: ``status`` whenever the status
changes, ``progress`` once per new progress item, and ``end`` when the run reaches a
terminal status. A comment line keeps idle connections alive.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio

from fixloop.errors import FixloopError, RunNotFoundError
from fixloop.server.progress import item_payload, progress_items
from fixloop.server.runner import TERMINAL, Runner


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


# After each read of a running (or ended) run: extra lines to send, and whether the stream ends now.
AfterRead = Callable[[dict[str, Any], str, float], tuple[list[str], bool]]


def _end_at_terminal(run: dict[str, Any], status: str, waited: float) -> tuple[list[str], bool]:
    return [], status in TERMINAL


async def run_events(
    runner: Runner,
    thread_id: str,
    *,
    interval: float,
    max_seconds: float = 3600.0,
    after: AfterRead = _end_at_terminal,
) -> AsyncIterator[str]:
    """The event stream of ``thread_id`` (ends at a terminal status, or when ``after`` says so, or after
    ``max_seconds``)."""
    seen: set[str] = set()
    last_status: str | None = None
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
            extra, done = after(run, status, waited)
            for line in extra:
                yield line
            if done:
                yield sse("end", {"thread_id": thread_id, "status": status})
                return
        else:
            yield ": waiting for the run's first checkpoint\n\n"
        await anyio.sleep(interval)
        waited += interval
    yield sse("end", {"thread_id": thread_id, "status": last_status, "reason": "stream time limit"})
