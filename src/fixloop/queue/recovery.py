"""Runs nobody drives any more, and jobs whose worker died, are handed to a live worker.

- ``retry_stalled``: procrastinate's own heartbeats tell which workers are gone
  (``get_stalled_jobs``: jobs ``doing`` on a worker without a heartbeat for ``stalled_after``
  seconds); each such job is put back in the queue (``retry_job``) for another worker, which
  resumes the run from its checkpoint (``tasks.py``). Two workers retrying the same job at once:
  the second is refused by procrastinate and ignored.
- ``reenqueue_orphans``: at ``serve``/``worker`` start, every run of the index that is unfinished
  (``running``), not at an interrupt, whose lock is free (no live driver) and that has no job
  waiting or running gets a ``resume`` job.
"""

from __future__ import annotations

import logging
from typing import Any

from fixloop.errors import FixloopError
from fixloop.queue.app import QUEUE
from fixloop.queue.client import Queued, RunQueue

log = logging.getLogger("fixloop.worker")


async def retry_stalled(app: Any, *, stalled_after: float) -> list[int]:
    """Put the jobs of dead workers back in the queue; return their ids."""
    from procrastinate.exceptions import ConnectorException

    retried = []
    for job in await app.job_manager.get_stalled_jobs(queue=QUEUE, seconds_since_heartbeat=stalled_after):
        try:
            await app.job_manager.retry_job(job)
        except ConnectorException:  # another worker retried it first
            continue
        log.warning("job %s (%s, run %s) lost its worker: queued again", job.id, job.task_name, job.lock)
        retried.append(int(job.id))
    return retried


def reenqueue_orphans(queue: RunQueue) -> list[Queued]:
    """A ``resume`` job for each run whose driver is gone and that nothing in the queue will drive."""
    from fixloop.checkpoints import open_store
    from fixloop.run_lock import is_driven

    queued = []
    with open_store(queue.url) as store:
        entries = [e for e in store.index.all() if e.status == "running"]
    for entry in entries:
        thread_id = entry.thread_id
        if is_driven(thread_id, queue.url):
            continue
        waiting = [
            job
            for status in ("todo", "doing")
            for job in queue.app.job_manager.list_jobs(lock=thread_id, status=status)
        ]
        if waiting:
            continue
        try:
            job = queue.resume(thread_id, queueing_lock=f"resume:{thread_id}")
        except FixloopError as exc:  # already queued by another process starting at the same time
            log.info("run %s not re-enqueued: %s", thread_id, exc)
            continue
        log.warning("run %s had no live driver: resume queued as job %s", thread_id, job.job_id)
        queued.append(job)
    return queued
