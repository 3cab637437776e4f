"""The job kinds: start, approve, reject, resume and stop, executed through ``fixloop.runs``.

Each job carries JSON only (thread id, paths, names, who decided and when): never a live object, a
URL or a secret. The worker's own ``--checkpointer`` comes from its context. A job is done when the
``fixloop.runs`` call returns, that is once the run's step is checkpointed (``durability="sync"``) and
it has ended or stopped at the approval; a worker killed before that leaves the job ``doing``, and
``recovery.retry_stalled`` hands it to another worker, which resumes the thread from its checkpoint.

Every job writes one outcome row (``outcomes.py``) that the enqueuer may wait for: a refusal or a
usage error is an outcome, not a failed job (retrying it would refuse again).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from procrastinate import Blueprint, JobContext

from fixloop.errors import FixloopError
from fixloop.queue.outcomes import record_outcome

log = logging.getLogger("fixloop.worker")
blueprint = Blueprint()
TAKEN = "took job"  # the log line a worker writes when it starts a job (tests and benchmarks look for it)
BUSY_POLL = 0.5  # seconds between looks at a run another (slow, not dead) driver still holds


def _checkpointer(context: JobContext) -> str:
    return str(context.additional_context["checkpointer"])


def _outcome(context: JobContext, kind: str, thread_id: str, work: Any) -> None:
    """Run ``work()``; record what came of it (the run's document, or the error in one line)."""
    url, job_id = _checkpointer(context), int(context.job.id or 0)
    log.info("%s %s: %s of run %s (attempt %d)", TAKEN, job_id, kind, thread_id, context.job.attempts + 1)
    try:
        doc = work()
    except FixloopError as exc:
        log.info("job %s (%s of %s): %s", job_id, kind, thread_id, exc.one_line())
        record_outcome(url, job_id, thread_id, kind, ok=False, error_type=type(exc).__name__, message=exc.one_line())
        return
    except Exception as exc:
        record_outcome(url, job_id, thread_id, kind, ok=False, error_type=type(exc).__name__, message=str(exc)[:500])
        raise
    record_outcome(url, job_id, thread_id, kind, ok=True, doc=doc if isinstance(doc, dict) else {"message": doc})


def _resume_when_free(thread_id: str, url: str) -> dict[str, Any]:
    """Resume the run from its checkpoint; when a live driver still holds it, wait for it to let go first."""
    from fixloop import runs
    from fixloop.run_lock import RunBusyError

    while True:
        try:
            return runs.resume_run(thread_id, checkpointer=url)
        except RunBusyError:
            time.sleep(BUSY_POLL)


@blueprint.task(name="start", pass_context=True)
def start(context: JobContext, *, request: dict[str, Any]) -> None:
    """Start a run; a retried start (its first worker died) resumes the run from its checkpoint instead."""
    from fixloop import runs

    url = _checkpointer(context)
    thread_id = str(request["thread_id"])

    def work() -> dict[str, Any]:
        if runs.has_started(thread_id, url):
            return _resume_when_free(thread_id, url)
        fields = {k: v for k, v in request.items() if k in runs.RunRequest.__dataclass_fields__}
        for key in ("repo", "config_file", "out_dir"):
            if fields.get(key):
                fields[key] = Path(fields[key])
        fields["prices"] = {k: tuple(v) for k, v in (fields.get("prices") or {}).items()}
        runs.start_run(runs.RunRequest(**{**fields, "checkpointer": url}))
        return runs.run_status(thread_id, checkpointer=url)

    _outcome(context, "start", thread_id, work)


@blueprint.task(name="resume", pass_context=True)
def resume(context: JobContext, *, thread_id: str) -> None:
    url = _checkpointer(context)
    _outcome(context, "resume", thread_id, lambda: _resume_when_free(thread_id, url))


@blueprint.task(name="decide", pass_context=True)
def decide(
    context: JobContext,
    *,
    thread_id: str,
    decision: str,
    by: str,
    source: str,
    at: str,
    reason: str = "",
    heads: list[str] | None = None,
) -> None:
    """Approve or reject. A retried decision already in the run (its worker died after recording it) is not
    applied again: the run is only driven on from its checkpoint."""
    from fixloop import runs

    url = _checkpointer(context)

    def work() -> dict[str, Any]:
        if context.job.attempts and runs.decision_recorded(thread_id, by=by, at=at, checkpointer=url):
            return _resume_when_free(thread_id, url)
        if decision == "approve":
            return runs.approve_run(thread_id, by=by, source=source, checkpointer=url, heads=heads, at=at)  # type: ignore[arg-type]
        return runs.reject_run(thread_id, by=by, reason=reason, source=source, checkpointer=url, at=at)  # type: ignore[arg-type]

    _outcome(context, decision, thread_id, work)


@blueprint.task(name="stop", pass_context=True)
def stop(context: JobContext, *, thread_id: str, level: str, by: str | None = None) -> None:
    """Lower how far a run may go (not under the run's lock: a brake must not queue behind the run it stops)."""
    from fixloop.autonomy import lower_stop_at

    url = _checkpointer(context)
    _outcome(context, "stop", thread_id, lambda: lower_stop_at(thread_id, level, checkpointer=url, by=by))
