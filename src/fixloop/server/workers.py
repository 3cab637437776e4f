"""Bounded background workers: remediations never run inside a request.

Two pools: ``runs`` for long jobs (start, approve, reject: each may drive the graph for
minutes) and ``chat`` for quick ones (post a message, answer ``status``). Each pool has a
fixed number of threads and a bound on queued jobs; past it ``submit`` refuses, and the
route answers "busy" instead of queueing without limit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

log = logging.getLogger("fixloop.server")
CHAT_QUEUE = 4096  # queued chat jobs (status, why, posts) before the server drops one


class BusyError(Exception):
    """The pool's queue is full."""


class WorkerPool:
    def __init__(self, name: str, *, workers: int, max_pending: int) -> None:
        self.name = name
        self.max_pending = max_pending
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"fixloop-{name}")
        self._lock = threading.Lock()
        self._pending = 0
        self.submitted = 0  # jobs accepted since start (for /healthz and tests)
        self.failed = 0

    @property
    def pending(self) -> int:
        return self._pending

    def submit(self, job: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        """Queue ``job``; raise ``BusyError`` when ``max_pending`` jobs are already waiting or running."""
        with self._lock:
            if self._pending >= self.max_pending:
                raise BusyError(f"the {self.name} queue is full ({self.max_pending} jobs)")
            self._pending += 1
            self.submitted += 1
        future = self._executor.submit(self._run, job, *args, **kwargs)
        return future

    def _run(self, job: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return job(*args, **kwargs)
        except Exception:
            with self._lock:
                self.failed += 1
            log.exception("background job %s failed", getattr(job, "__name__", job))
            raise
        finally:
            with self._lock:
                self._pending -= 1

    def shutdown(self, *, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=not wait)


class Workers:
    """The server's two pools."""

    def __init__(self, *, run_workers: int, chat_workers: int, max_pending: int) -> None:
        self.runs = WorkerPool("runs", workers=run_workers, max_pending=max_pending)
        # chat jobs are small (a run.json read and one post): a deep queue rides out a burst of status
        # requests instead of dropping replies
        self.chat = WorkerPool("chat", workers=chat_workers, max_pending=max(max_pending * 4, CHAT_QUEUE))

    def stats(self) -> dict[str, int]:
        return {
            "runs_submitted": self.runs.submitted,
            "runs_pending": self.runs.pending,
            "chat_submitted": self.chat.submitted,
            "chat_pending": self.chat.pending,
            "failed": self.runs.failed + self.chat.failed,
        }

    def shutdown(self, *, wait: bool = True) -> None:
        self.chat.shutdown(wait=wait)
        self.runs.shutdown(wait=wait)
