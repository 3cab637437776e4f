"""Queueing from the CLI and the server: JSON-only jobs, one start per run, clear errors, and an outcome
(here a refusal) travelling back from a real ``fixloop worker`` to the enqueuer."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from fixloop.checkpoints import RunEntry, open_store, record_run
from fixloop.errors import ApprovalError, UsageError
from fixloop.queue.client import RunQueue
from fixloop.run_lock import RunBusyError
from fixloop.server.runner import QueueRunner
from tests.conftest import CliRunner
from tests.queue.workers import workers


@pytest.mark.postgres
def test_a_start_is_queued_once_with_json_only_and_no_url(pg_schema_url: str, tmp_path: Path) -> None:
    request = {"thread_id": "t-1", "repo": str(tmp_path), "focus": "websockets", "checkpointer": pg_schema_url}
    with RunQueue(pg_schema_url) as queue:
        job = queue.start(request)
        with pytest.raises(UsageError, match="already queued"):
            queue.start(request)
        with pytest.raises(RunBusyError, match="still queued or running"):
            queue.wait(job, timeout=0.3)  # nobody takes it
    with psycopg.connect(pg_schema_url, autocommit=True) as conn:
        row = conn.execute("SELECT args FROM procrastinate_jobs WHERE id = %s", (job.job_id,)).fetchone()
    assert row is not None
    args = row[0]
    assert args["request"]["repo"] == str(tmp_path)
    assert "postgresql://" not in json.dumps(args)  # the worker uses its own --checkpointer


@pytest.mark.postgres
def test_the_cli_queues_with_postgres_and_says_how_to_follow(
    run_cli: CliRunner, pg_schema_url: str, tmp_path: Path
) -> None:
    done = run_cli("run", "--repo", str(tmp_path), "--focus", "websockets", "--checkpointer", pg_schema_url)
    assert done.returncode == 0, done.stderr
    assert "queued: start of run fl-" in done.stdout and "fixloop status fl-" in done.stdout
    missing = run_cli("approve", "no-such-run", "--by", "alice", "--checkpointer", pg_schema_url)
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    sqlite = run_cli("worker", "--checkpointer", str(tmp_path / "c.sqlite"))
    assert sqlite.returncode == 2 and "needs a postgresql://" in sqlite.stderr


@pytest.mark.postgres
@pytest.mark.timeout(180)
def test_a_refusal_in_the_worker_comes_back_to_the_server_as_the_error_it_was(
    pg_schema_url: str, tmp_path: Path
) -> None:
    url = pg_schema_url
    with open_store(url) as store:  # a run nobody started: it waits for no approval
        record_run(RunEntry(thread_id="t-idle", focus="websockets", status="running", repo=str(tmp_path),
                            out_dir=str(tmp_path / "out"), checkpointer=url, request={"llm": "none",
                            "repo": str(tmp_path), "out_dir": str(tmp_path / "out")}), store)  # fmt: skip
    runner = QueueRunner(url, wait=120)
    with workers(url, tmp_path, 1), pytest.raises(ApprovalError, match="not waiting for approval"):
        runner.approve("t-idle", by="alice", source="slack")
    runner.queue.close()
