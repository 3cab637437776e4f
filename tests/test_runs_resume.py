"""``fixloop resume`` of a run killed between a step's saved writes and the next checkpoint.

A process killed right after a node's writes land (``durability="sync"`` saves them at once) but before
the step's checkpoint leaves a snapshot whose ``next`` is empty while ``tasks`` still holds the finished
task. The moment is made deterministic by cutting a finished demo run's checkpoints back to it.
"""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

import pytest

from fixloop.checkpoints import open_store
from fixloop.exit_codes import DIAGNOSED
from fixloop.graphs.remediation import build_graph
from fixloop.target import stop_target
from tests.conftest import CliRunner


def _cut_back_to_first_steps(db: Path, keep: int) -> None:
    """Keep the first ``keep`` root checkpoints and their pending writes; drop the rest."""
    with sqlite3.connect(db) as conn:
        kept = [
            row[0]
            for row in conn.execute(
                "SELECT checkpoint_id FROM checkpoints WHERE checkpoint_ns = '' ORDER BY checkpoint_id"
            ).fetchall()
        ][:keep]
        marks = ",".join("?" * len(kept))
        conn.execute(f"DELETE FROM checkpoints WHERE checkpoint_id NOT IN ({marks})", kept)
        conn.execute(f"DELETE FROM writes WHERE checkpoint_id NOT IN ({marks})", kept)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_run_killed_between_a_steps_writes_and_the_next_checkpoint_is_resumed(
    run_cli: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    db = tmp_path / "checkpoints.sqlite"
    done = run_cli("demo", "--scenario", "handshake-500", "--llm", "none", "--out", str(out), "--checkpointer", str(db))
    assert done.returncode == 0, done.stderr[-2000:]
    thread = json.loads((out / "run.json").read_text(encoding="utf-8"))["thread_id"]
    try:
        _cut_back_to_first_steps(db, keep=3)  # input, after intake, after select's writes (before step 2)
        with open_store(str(db)) as store:
            snapshot = build_graph(checkpointer=store.saver).get_state({"configurable": {"thread_id": thread}})
        assert snapshot.next == () and snapshot.tasks, "the cut did not reproduce the killed-mid-step state"

        before = json.loads(run_cli("status", thread, "--json").stdout)
        assert before["status"] == "running" and before.get("interrupted") is True, before

        resumed = run_cli("resume", thread, timeout=600)
        assert resumed.returncode == DIAGNOSED, resumed.stderr[-2000:]
        after = json.loads(run_cli("status", thread, "--json").stdout)
        assert after["status"] == "diagnosed", f"resume left the run {after['status']}: {resumed.stdout[-600:]}"
        assert not after.get("interrupted")
        assert after["iterations"] and after["iterations"][0].get("counts"), after["iterations"]
    finally:
        stop_target(out / "workspace")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_decision_on_a_run_whose_driver_died_mid_step_continues_it_and_applies_the_decision(
    run_cli: CliRunner, demo_out: Path
) -> None:
    """No run is left stuck refusing decisions ("not waiting for approval") until someone resumes it from a
    shell: under the run lock nobody else drives it, so the decision first finishes the interrupted step."""
    demo = ["demo", "--scenario", "handshake-500", "--llm", "scripted", "--requested-by", "carol"]
    killed = run_cli(*demo, "--out", str(demo_out), env={"FIXLOOP_TEST_KILL_AT": "open_prs:after"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    thread = json.loads((demo_out / "run.json").read_text(encoding="utf-8"))["thread_id"]
    assert json.loads(run_cli("status", thread, "--json").stdout)["interrupted"] is True

    approved = run_cli("approve", thread, "--by", "alice", timeout=600)
    assert approved.returncode == 0, approved.stderr[-2000:]
    run = json.loads(run_cli("status", thread, "--json").stdout)
    assert run["status"] == "green", run["status"]
    assert [(a["by"], a["decision"]) for a in run["approvals"]] == [("alice", "approve")]
    assert len(run["deploys"]) == 1 and run["prs"] and all(p["state"] == "merged" for p in run["prs"])
