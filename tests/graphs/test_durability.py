"""kill -9 of a real `fixloop` process at several nodes, then `fixloop resume` in a new process: the run
finishes and no side effect happens twice (no second PR, merge or deploy). Checkpoints in PostgreSQL."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fixloop.exit_codes import AWAITING_APPROVAL
from fixloop.integrations.codehost import default_remote
from fixloop.integrations.codehost.local import LocalCodeHost
from fixloop.target import target_status, test_env
from tests.conftest import CliRunner
from tests.graphs.conftest import read_run


def _killed_at(point: str) -> dict[str, str]:
    return {"FIXLOOP_TEST_KILL_AT": point}


def _assert_killed(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == -signal.SIGKILL, f"expected SIGKILL, got {proc.returncode}: {proc.stderr[-2000:]}"


def _status(run_cli: CliRunner, thread: str) -> dict[str, Any]:
    proc = run_cli("status", thread, "--json")
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


@pytest.mark.slow
@pytest.mark.postgres
def test_killed_at_every_side_effect_resumes_without_doing_it_twice(
    run_cli: CliRunner, demo_out: Path, pg_schema_url: str
) -> None:
    # driven in each process itself (--in-process): with PostgreSQL the CLI otherwise queues for `fixloop worker`
    demo = ["demo", "--scenario", "handshake-500", "--llm", "scripted", "--requested-by", "carol", "--in-process"]
    # 1. killed inside the parallel investigations (a subgraph node)
    _assert_killed(run_cli(*demo, "--out", str(demo_out), "--checkpointer", pg_schema_url, env=_killed_at("evidence")))
    run = read_run(demo_out)  # the worklog of the steps before the kill is there and readable
    assert run["status"] == "running" and run["iterations"][0]["categories"]
    assert "## Execution log" in (demo_out / "worklog.md").read_text(encoding="utf-8")
    thread = run["thread_id"]
    assert _status(run_cli, thread)["interrupted"] is True  # nobody drives it since the kill
    secret = test_env(demo_out / "workspace")["CHAT_JWT_SECRET"]  # the running target's token secret
    host = LocalCodeHost(demo_out / "workspace", default_remote(demo_out / "workspace"))

    # 2. killed right after the first PR was opened (found by thread id alone: no --checkpointer from here on)
    _assert_killed(run_cli("resume", thread, "--in-process", env=_killed_at("open_prs:after")))
    assert len(host.list_prs()) == 1
    resumed = run_cli("resume", thread, "--in-process")
    assert resumed.returncode == AWAITING_APPROVAL, resumed.stderr
    run = _status(run_cli, thread)
    assert run["status"] == "awaiting_approval"
    opened = {(p.head, p.number) for p in host.list_prs()}
    assert len(opened) == len(run["prs"]) == len({p.head for p in host.list_prs()})  # one PR per branch

    # 3. killed after the first merge, then after the deploy
    _assert_killed(run_cli("approve", thread, "--by", "alice", "--in-process", env=_killed_at("merge:after")))
    _assert_killed(run_cli("resume", thread, "--in-process", env=_killed_at("deploy:after")))
    deployed = target_status(demo_out / "workspace")
    assert deployed is not None and deployed.running
    resumed = run_cli("resume", thread, "--in-process", timeout=600)
    assert resumed.returncode == 0, resumed.stderr

    run = _status(run_cli, thread)
    assert run["status"] == "green", run["outcome"]
    assert {(p.head, p.number) for p in host.list_prs()} == opened  # no PR opened twice
    assert all(p.state == "merged" for p in host.list_prs())
    assert len(run["deploys"]) == 1  # the deploy done before the kill is recorded once, not done again
    assert f"pid {deployed.pid}): deployed before an interruption, not redeployed" in run["deploys"][0]["output"]
    info = target_status(demo_out / "workspace")
    assert info is None or not info.running  # the demo's run ended: its target is stopped
    assert [a["decision"] for a in run["approvals"]] == ["approve"]
    for written in ("worklog.md", "run.json"):
        assert secret not in (demo_out / written).read_text(encoding="utf-8")
