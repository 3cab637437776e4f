"""Enqueue run jobs, and (for the server) wait for what came of them.

Every job of one run carries the procrastinate ``lock`` of its thread id: the queue runs them one
after the other, in the order they were enqueued; the database lock of ``run_lock.py`` still keeps
any other driver (a CLI ``--in-process``, a slow worker) out. A start carries a ``queueing_lock``
too, so one run is never queued twice; re-enqueued resumes likewise (``recovery.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fixloop.errors import ApprovalError, ConfigError, FixloopError, RunNotFoundError, UsageError
from fixloop.postgres import connect_postgres
from fixloop.queue.app import QUEUE, build_app, ensure_schema
from fixloop.queue.outcomes import Outcome, read_outcome
from fixloop.run_lock import RunBusyError

POLL = 0.25  # seconds between looks at a job's outcome
_ERRORS: dict[str, type[FixloopError]] = {
    "ApprovalError": ApprovalError,
    "RunNotFoundError": RunNotFoundError,
    "RunBusyError": RunBusyError,
    "UsageError": UsageError,
    "ConfigError": ConfigError,
}


@dataclass(frozen=True)
class Queued:
    job_id: int
    thread_id: str
    kind: str

    def follow_hint(self) -> str:
        return f"follow it with `fixloop status {self.thread_id}` (same --checkpointer)"


class RunQueue:
    """Enqueue start / approve / reject / resume / stop jobs on ``url``'s database."""

    def __init__(self, url: str) -> None:
        self.url = url
        ensure_schema(url)
        self.app = build_app(url).open()

    def close(self) -> None:
        self.app.close()

    def __enter__(self) -> RunQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _defer(self, task: str, run: str, *, lock: bool = True, queueing_lock: str | None = None,
               **args: Any) -> Queued:  # fmt: skip
        from procrastinate.exceptions import AlreadyEnqueued

        options: dict[str, Any] = {"queue": QUEUE}
        if lock:
            options["lock"] = run
        if queueing_lock:
            options["queueing_lock"] = queueing_lock
        try:
            job_id = self.app.configure_task(name=f"fixloop:{task}", **options).defer(**args)
        except AlreadyEnqueued:
            raise UsageError(f"a {task} job of run {run} is already queued") from None
        return Queued(int(job_id), run, task)

    def start(self, request: dict[str, Any]) -> Queued:
        """``request``: a ``RunRequest`` as JSON (``runs.request_dict``); its thread id must be set."""
        thread_id = str(request["thread_id"])
        clean = {k: v for k, v in request.items() if k != "checkpointer"}  # the worker's own, never a URL in a job
        return self._defer("start", thread_id, queueing_lock=f"start:{thread_id}", request=clean)

    def resume(self, thread_id: str, *, queueing_lock: str | None = None) -> Queued:
        return self._defer("resume", thread_id, queueing_lock=queueing_lock, thread_id=thread_id)

    def decide(
        self,
        thread_id: str,
        *,
        decision: str,
        by: str,
        source: str,
        reason: str = "",
        heads: list[str] | None = None,
    ) -> Queued:
        at = datetime.now(UTC).isoformat()  # the decision's identity: a retried job finds it in the run
        return self._defer(
            "decide", thread_id, thread_id=thread_id, decision=decision, by=by, source=source, at=at,
            reason=reason, heads=heads,
        )  # fmt: skip

    def stop(self, thread_id: str, *, level: str, by: str | None = None) -> Queued:
        return self._defer("stop", thread_id, lock=False, thread_id=thread_id, level=level, by=by)

    def wait(self, queued: Queued, *, timeout: float | None = None) -> Outcome:
        """Wait for the job's outcome; a refusal or error comes back as the ``FixloopError`` it was."""
        deadline = None if timeout is None else time.monotonic() + timeout
        conn = connect_postgres(self.url, what="queue")
        try:
            while True:
                outcome = read_outcome(conn, queued.job_id)
                if outcome is not None:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    raise RunBusyError(
                        f"job {queued.job_id} ({queued.kind} of run {queued.thread_id}) is still queued or running",
                        hint="is a `fixloop worker` running on this database?",
                    )
                time.sleep(POLL)
        finally:
            conn.close()
        if not outcome.ok:
            raise _ERRORS.get(outcome.error_type, FixloopError)(outcome.message)
        return outcome

    def job_status(self, job_id: int) -> str:
        jobs = self.app.job_manager.list_jobs(id=job_id)
        return str(jobs[0].status) if jobs else "unknown"
