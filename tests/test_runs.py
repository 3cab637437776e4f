"""The run API and its CLI faces on a real (unbroken) example target: a green run, then every command
that finds a run by thread id, and the clear errors for unknown threads and bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixloop.errors import RunNotFoundError, UsageError
from fixloop.runs import RunRequest, approve_run, list_runs, reject_run, run_status, start_run
from fixloop.scenarios import prepare_workspace
from fixloop.target import start_target, stop_target
from tests.conftest import CliRunner


@pytest.fixture
def healthy_repo(tmp_path: Path) -> Iterator[Path]:
    """A git copy of the example with no fault, its target running."""
    repo = prepare_workspace(tmp_path / "ws", None)
    start_target(repo)
    yield repo
    stop_target(repo)


def test_unknown_threads_and_bad_input_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(RunNotFoundError):
        run_status("no-such-thread")
    with pytest.raises(RunNotFoundError):
        approve_run("no-such-thread", by="alice")
    with pytest.raises(UsageError, match="needs a reason"):
        reject_run("no-such-thread", by="alice", reason="  ")
    with pytest.raises(UsageError, match="does not exist"):
        start_run(RunRequest(repo=tmp_path / "missing", focus="websockets"))
    assert list_runs() == []


def test_cli_errors_are_one_line(run_cli: CliRunner) -> None:
    proc = run_cli("approve", "no-such-thread", "--by", "alice")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no run with thread id 'no-such-thread'" in proc.stderr
    proc = run_cli("status")
    assert proc.returncode == 0 and "no runs yet" in proc.stdout


@pytest.mark.slow
def test_a_green_run_is_found_by_every_command(run_cli: CliRunner, healthy_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_cli("run", "--repo", str(healthy_repo), "--focus", "websockets", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["status"] == "green" and run["llm"]["mode"] == "none"
    assert run["iterations"][0]["counts"].get("passed", 0) > 0 and not run["iterations"][0]["categories"]
    assert all(t["holds"] for t in run["iterations"][0]["tiers"])
    thread = run["thread_id"]

    listed = json.loads(run_cli("status", "--json").stdout)
    assert [(r["thread_id"], r["status"]) for r in listed] == [(thread, "green")]
    status = json.loads(run_cli("status", thread, "--json").stdout)
    assert status["status"] == "green" and status["thread_id"] == thread
    resumed = run_cli("resume", thread)  # nothing left to do: it says so
    assert resumed.returncode == 0 and "GREEN" in resumed.stdout
    refused = run_cli("approve", thread, "--by", "alice")
    assert refused.returncode == 3 and "not waiting for approval" in refused.stderr
