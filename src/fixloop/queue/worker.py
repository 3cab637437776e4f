"""``fixloop worker``: a procrastinate worker that drives runs, on any machine sharing the database.

Next to procrastinate's worker loop, each process looks every ``heartbeat`` seconds for jobs whose
worker stopped sending heartbeats (``recovery.retry_stalled``), and at start re-enqueues the runs
nobody drives (``recovery.reenqueue_orphans``). Jobs are synchronous ``fixloop.runs`` calls, which
procrastinate runs in threads: ``--concurrency N`` runs at most N of them at once in this process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
from dataclasses import dataclass

from fixloop.queue.app import QUEUE, build_app, ensure_schema
from fixloop.queue.client import Queued, RunQueue
from fixloop.queue.recovery import reenqueue_orphans, retry_stalled

log = logging.getLogger("fixloop.worker")
HEARTBEAT = 10.0  # procrastinate's defaults: a heartbeat every 10 s, a worker silent for 30 s is dead
STALLED_AFTER = 30.0
FETCH_POLL = 5.0  # procrastinate's default polling for new jobs when no NOTIFY arrives


@dataclass(frozen=True)
class WorkerOptions:
    checkpointer: str
    concurrency: int = 1
    heartbeat: float = HEARTBEAT
    stalled_after: float = STALLED_AFTER
    name: str = ""


async def _watch_stalled(app: object, options: WorkerOptions) -> None:
    while True:
        await asyncio.sleep(options.heartbeat)
        try:
            await retry_stalled(app, stalled_after=options.stalled_after)
        except Exception as exc:  # a database hiccup: look again at the next beat
            log.warning("looking for stalled jobs failed: %s", exc)


def _reenqueue(url: str) -> list[Queued]:
    with RunQueue(url) as queue:
        return reenqueue_orphans(queue)


async def _serve(options: WorkerOptions) -> None:
    app = build_app(options.checkpointer)
    async with app.open_async():
        try:
            orphans = await asyncio.to_thread(_reenqueue, options.checkpointer)
        except Exception as exc:  # the worker still works; the next start (or serve) looks again
            log.warning("re-enqueueing runs without a driver failed: %s", exc)
            orphans = []
        for job in orphans:
            print(f"fixloop worker: run {job.thread_id} had no driver: resume queued (job {job.job_id})", flush=True)
        watcher = asyncio.create_task(_watch_stalled(app, options))
        try:
            await app.run_worker_async(
                queues=[QUEUE],
                concurrency=options.concurrency,
                name=options.name,
                update_heartbeat_interval=options.heartbeat,
                # a retried job is put back without a NOTIFY: look for work at least once a beat
                fetch_job_polling_interval=min(options.heartbeat, FETCH_POLL),
                stalled_worker_timeout=options.stalled_after,
                additional_context={"checkpointer": options.checkpointer},
            )
        finally:
            watcher.cancel()


def run_worker(options: WorkerOptions) -> None:
    """Run until SIGINT/SIGTERM (procrastinate then lets the running jobs finish)."""
    logging.basicConfig(level=logging.INFO, format="fixloop worker: %(message)s", stream=sys.stderr)
    for noisy in ("httpx", "httpcore", "urllib3", "procrastinate"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    ensure_schema(options.checkpointer)
    name = options.name or f"{socket.gethostname()}:{os.getpid()}"
    print(
        f"fixloop worker {name}: concurrency {options.concurrency}, heartbeat {options.heartbeat:g} s,"
        f" a worker silent {options.stalled_after:g} s is dead",
        flush=True,
    )
    asyncio.run(_serve(WorkerOptions(**{**options.__dict__, "name": name})))
