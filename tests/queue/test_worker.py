"""Two real ``fixloop worker`` processes on PostgreSQL; the one driving a scripted demo run is killed with
SIGKILL mid-run: procrastinate's heartbeats show it dead, its job goes to the other worker, which resumes the
thread from its checkpoint and takes the run to the approval; the approval (queued from the CLI) takes it
to green. Side effects in the local code host (the GitHub double: a bare git remote and its PR records)
and in the run's deploy records: one PR per branch, each merged once, one deploy."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from fixloop.integrations.codehost import default_remote
from fixloop.integrations.codehost.local import LocalCodeHost
from tests.conftest import CliRunner
from tests.queue.workers import queued_job, run_status, took, wait_until, workers


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(600)
def test_a_worker_killed_mid_run_hands_the_run_to_another_which_finishes_it(
    run_cli: CliRunner, demo_out: Path, pg_schema_url: str, tmp_path: Path
) -> None:
    url = pg_schema_url
    with workers(url, tmp_path, 2) as pool:
        queued = run_cli("demo", "--scenario", "handshake-500", "--llm", "scripted", "--requested-by", "carol",
                         "--out", str(demo_out), "--checkpointer", url)  # fmt: skip
        assert queued.returncode == 0, queued.stderr
        thread, job = queued_job(queued.stdout)
        logs = [log for _, log in pool]
        assert run_status(url, thread) is None  # the CLI only queued it: nothing ran in its process

        def driver() -> list[int]:
            return [i for i, (_, log) in enumerate(pool) if took(log, job)]

        first = wait_until(driver, timeout=120, what="a worker to take the start", logs=logs)[0]
        killed, killed_log = pool[first]
        other, other_log = pool[1 - first]
        # mid-run: the first steps are checkpointed and reported (run.json), the run is far from its approval
        wait_until(lambda: (demo_out / "run.json").exists(), timeout=180, what="the run's first step", logs=logs)
        killed.send_signal(signal.SIGKILL)
        assert killed.wait(timeout=30) == -signal.SIGKILL
        assert run_status(url, thread) == "running"

        wait_until(lambda: took(other_log, job), timeout=120, what="the other worker to take the lost job", logs=logs)
        assert "lost its worker: queued again" in "".join(log.read_text() for _, log in pool)
        wait_until(lambda: run_status(url, thread) == "awaiting_approval", timeout=300, what="the approval",
                   every=0.5, logs=logs)  # fmt: skip
        assert took(killed_log, job) == 1 and took(other_log, job) == 1

        approved = run_cli("approve", thread, "--by", "alice")  # found by thread id; queued
        assert approved.returncode == 0, approved.stderr
        assert queued_job(approved.stdout)[0] == thread
        wait_until(lambda: run_status(url, thread) in ("green", "gave_up", "error"), timeout=300, what="the end",
                   every=0.5, logs=logs)  # fmt: skip
        assert other.poll() is None  # the survivor is still serving

    status = run_cli("status", thread, "--json")
    assert status.returncode == 0, status.stderr
    run = json.loads(status.stdout)
    assert run["status"] == "green", run.get("outcome")
    host = LocalCodeHost(demo_out / "workspace", default_remote(demo_out / "workspace"))
    prs = host.list_prs()
    assert prs and len({p.head for p in prs}) == len(prs)  # one PR per branch: none opened twice
    assert all(p.state == "merged" for p in prs)
    merges = subprocess.run(["git", "rev-list", "--merges", "main"], cwd=default_remote(demo_out / "workspace"),
                            capture_output=True, text=True, check=True)  # fmt: skip
    assert len(merges.stdout.split()) == len(prs)  # each PR merged once
    assert len(run["deploys"]) == 1
    assert [a["decision"] for a in run["approvals"]] == ["approve"]
