"""``serve`` with PostgreSQL only queues: the Slack demo flow of test_e2e_slack_demo.py with the server's
``QueueRunner`` and one real ``fixloop worker`` process driving the run. Refused clicks come back from the
worker as the refusals they were (recorded once each in the run), the approver's click turns it green."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixloop.server.runner import QueueRunner
from tests.queue.workers import workers
from tests.server.conftest import LiveFactory
from tests.server.test_e2e_slack_demo import approve_flow, stopping


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(1200)
def test_serve_queues_and_a_worker_drives_the_slack_demo_to_green(
    live: LiveFactory, isolated_fixloop_home: Path, pg_schema_url: str, tmp_path: Path
) -> None:
    runner = QueueRunner(pg_schema_url)
    with (
        workers(pg_schema_url, tmp_path, 1) as pool,
        live(runner=runner, default_repo="demo", poll_interval=0.5) as server,
        stopping(isolated_fixloop_home),
    ):
        thread_id, _ = approve_flow(server.url, server.url, server.slack)
        log = pool[0][1].read_text()
    runner.queue.close()
    run = runner.status(thread_id)
    assert run["status"] == "green"
    decisions = [(a["by"], a["decision"]) for a in run["approvals"]]
    assert decisions == [("mallory", "refused"), ("bob", "refused"), ("alice", "approve")]
    assert f"start of run {thread_id}" in log and log.count(f"approve of run {thread_id}") == 3  # all in the worker
