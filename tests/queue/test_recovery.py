"""Runs whose driver is gone are re-enqueued once; runs at an approval, ended, or driven are left alone."""

from __future__ import annotations

import pytest

from fixloop.checkpoints import RunEntry, open_store, record_run
from fixloop.queue.client import RunQueue
from fixloop.queue.recovery import reenqueue_orphans
from fixloop.run_lock import run_lock


def _entry(thread_id: str, status: str, url: str) -> RunEntry:
    return RunEntry(thread_id=thread_id, focus="websockets", status=status, repo="/r", out_dir="/o",
                    checkpointer=url, request={"llm": "none"})  # fmt: skip


@pytest.mark.postgres
def test_only_unfinished_runs_without_a_driver_or_a_job_are_requeued_once(pg_schema_url: str) -> None:
    url = pg_schema_url
    with open_store(url) as store:
        for thread_id, status in [("orphan", "running"), ("waiting", "awaiting_approval"), ("done", "green"),
                                  ("driven", "running"), ("queued", "running")]:  # fmt: skip
            record_run(_entry(thread_id, status, url), store)
    with RunQueue(url) as queue:
        already = queue.resume("queued")
        with run_lock("driven", url, wait=0):  # a live process drives it
            first = reenqueue_orphans(queue)
        second = reenqueue_orphans(queue)  # its resume job is waiting now: not queued twice
        jobs = queue.app.job_manager.list_jobs(task="fixloop:resume")
    assert [job.thread_id for job in first] == ["orphan"]
    assert [job.thread_id for job in second] == ["driven"]  # its driver let go meanwhile
    assert sorted(job.lock for job in jobs if job.lock) == ["driven", "orphan", "queued"]
    assert already.job_id in {job.id for job in jobs}
