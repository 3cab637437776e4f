"""How the server reaches runs: a small protocol over ``fixloop.runs``, imported lazily.

The server process must not load the agent stack (LangGraph, the model client) until a
worker actually starts or resumes a run, so ``RunsRunner`` imports ``fixloop.runs``
inside each call.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from fixloop.run_lock import is_driven
from fixloop.server.record_reader import read_run_json
from fixloop.server.workspaces import run_dir
from fixloop.vocabulary import ENDED

if TYPE_CHECKING:
    from fixloop.runs import RunRequest

TERMINAL = frozenset(ENDED)


class Runner(Protocol):
    """The run operations the server needs (the shape of ``fixloop.runs``)."""

    def start(
        self,
        *,
        repo: Path,
        focus: str,
        requested_by: str,
        source: str,
        llm: str,
        thread_id: str,
        scenario: str | None,
        out_dir: Path,
        extra: dict[str, Any],
    ) -> str: ...

    def approve(
        self, thread_id: str, *, by: str, source: str, heads: Sequence[str] | None = None
    ) -> dict[str, Any]: ...

    def reject(self, thread_id: str, *, by: str, reason: str, source: str) -> dict[str, Any]: ...

    def status(self, thread_id: str) -> dict[str, Any]: ...

    def stop(self, thread_id: str, *, by: str) -> str: ...

    def list(self) -> list[dict[str, Any]]: ...


class RunsRunner:
    """The real runner: ``fixloop.runs`` with this server's checkpointer."""

    def __init__(self, checkpointer: str | None = None, config_file: Path | None = None) -> None:
        self.checkpointer = checkpointer
        self.config_file = config_file

    def start(
        self,
        *,
        repo: Path,
        focus: str,
        requested_by: str,
        source: str,
        llm: str,
        thread_id: str,
        scenario: str | None,
        out_dir: Path,
        extra: dict[str, Any],
    ) -> str:
        from fixloop import runs

        request = self._request(
            repo=repo, focus=focus, requested_by=requested_by, source=source, llm=llm, thread_id=thread_id,
            scenario=scenario, out_dir=out_dir, extra=extra,
        )  # fmt: skip
        return runs.start_run(request)

    def _request(
        self,
        *,
        repo: Path,
        focus: str,
        requested_by: str,
        source: str,
        llm: str,
        thread_id: str,
        scenario: str | None,
        out_dir: Path,
        extra: dict[str, Any],
    ) -> RunRequest:
        """The run this server asks for, started here or queued for a worker."""
        from fixloop import runs

        return runs.RunRequest(
            repo=repo,
            focus=focus,
            requested_by=requested_by,
            source=source,  # type: ignore[arg-type]
            llm=llm,  # type: ignore[arg-type]
            config_file=self.config_file,
            scenario=scenario,
            out_dir=out_dir,
            checkpointer=self.checkpointer,
            thread_id=thread_id,
            extra=dict(extra),
        )

    def approve(self, thread_id: str, *, by: str, source: str, heads: Sequence[str] | None = None) -> dict[str, Any]:
        """Approve; with ``heads`` only while they are the waiting PRs' head commits (chat approvals name them)."""
        from fixloop import runs

        return runs.approve_run(
            thread_id,
            by=by,
            source=source,  # type: ignore[arg-type]
            checkpointer=self.checkpointer,
            heads=heads,
        )

    def reject(self, thread_id: str, *, by: str, reason: str, source: str) -> dict[str, Any]:
        from fixloop import runs

        return runs.reject_run(
            thread_id,
            by=by,
            reason=reason,
            source=source,  # type: ignore[arg-type]
            checkpointer=self.checkpointer,
        )

    def status(self, thread_id: str) -> dict[str, Any]:
        """The run's record as its driver last wrote it (cheap); the checkpoint read when there is none here."""
        doc = read_run_json(run_dir(thread_id))
        if doc is None:
            from fixloop import runs

            return runs.run_status(thread_id, checkpointer=self.checkpointer)
        if doc.get("status") == "running" and not is_driven(thread_id, self.checkpointer):
            doc["interrupted"] = True  # nobody holds the run's lock: its driver is gone
        return doc

    def stop(self, thread_id: str, *, by: str) -> str:
        """Chat's emergency brake: lower the run to ``diagnose`` (no patch, PR, merge or deploy from its next step)."""
        from fixloop.autonomy import lower_stop_at

        return lower_stop_at(thread_id, "diagnose", checkpointer=self.checkpointer, by=by)

    def list(self) -> list[dict[str, Any]]:
        from fixloop import runs

        return runs.list_runs(checkpointer=self.checkpointer)


class QueueRunner(RunsRunner):
    """With PostgreSQL: every run operation is a job for a ``fixloop worker`` (``fixloop.queue``); this
    process only enqueues it and waits for its outcome (its chat watcher meanwhile posts the run's progress
    from run.json). Reads (status, list) are the same as ``RunsRunner``'s."""

    def __init__(self, checkpointer: str, config_file: Path | None = None, *, wait: float | None = None) -> None:
        super().__init__(checkpointer, config_file)
        from fixloop.queue.client import RunQueue

        self.queue = RunQueue(checkpointer)
        self.wait = wait  # seconds to wait for a job's outcome (None: as long as it takes)

    def start(
        self,
        *,
        repo: Path,
        focus: str,
        requested_by: str,
        source: str,
        llm: str,
        thread_id: str,
        scenario: str | None,
        out_dir: Path,
        extra: dict[str, Any],
    ) -> str:
        from fixloop.runs import queued_request

        request = self._request(
            repo=repo, focus=focus, requested_by=requested_by, source=source, llm=llm, thread_id=thread_id,
            scenario=scenario, out_dir=out_dir, extra=extra,
        )  # fmt: skip
        self.queue.wait(self.queue.start(queued_request(request)), timeout=self.wait)
        return thread_id

    def approve(self, thread_id: str, *, by: str, source: str, heads: Sequence[str] | None = None) -> dict[str, Any]:
        job = self.queue.decide(
            thread_id, decision="approve", by=by, source=source, heads=list(heads) if heads else None
        )
        return self.queue.wait(job, timeout=self.wait).doc

    def reject(self, thread_id: str, *, by: str, reason: str, source: str) -> dict[str, Any]:
        job = self.queue.decide(thread_id, decision="reject", by=by, source=source, reason=reason)
        return self.queue.wait(job, timeout=self.wait).doc

    def stop(self, thread_id: str, *, by: str) -> str:
        outcome = self.queue.wait(self.queue.stop(thread_id, level="diagnose", by=by), timeout=self.wait)
        return str(outcome.doc.get("message", f"run {thread_id}: stop applied"))

    def recover(self) -> list[str]:
        """Re-enqueue the runs nobody drives (at ``serve`` start); their thread ids."""
        from fixloop.queue.recovery import reenqueue_orphans

        return [job.thread_id for job in reenqueue_orphans(self.queue)]
