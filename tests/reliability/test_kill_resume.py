"""kill -9 of a real ``fixloop`` process at node after node, each time resumed by a new process: the run
completes and no side effect happens twice (PRs, PR comments, merges, deploys).

tests/graphs/test_durability.py kills at four fixed hooks (evidence, after the first PR, after the merge,
after the deploy). Here the kill comes from outside, when the run's checkpointer shows it entering a node
(``killing.py``): in the normal run at ``run_tests`` (its pytest child orphaned) and ``validate`` (its
validation target left behind), up to the approval; with ``FIXLOOP_RELIABILITY_FULL=1`` at every node of
the loop and of the investigation subgraph, through approval, merge, deploy and the re-test to green."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fixloop.integrations.codehost import default_remote
from fixloop.integrations.codehost.local import LocalCodeHost
from tests.conftest import CliRunner
from tests.graphs.conftest import read_run
from tests.reliability.conftest import Tally, full_sweep
from tests.reliability.killing import Kill, fixloop_process, kill_at, thread_of

BEFORE_APPROVAL = [
    "intake", "select", "run_tests", "realness", "categorize",
    "evidence", "five_whys", "fix", "validate", "audit", "finish", "collect", "open_prs",
]  # fmt: skip
AFTER_APPROVAL = ["merge", "deploy", "run_tests", "realness", "categorize"]
REPRESENTATIVE = ["run_tests", "validate"]


def occurrences(nodes: list[str], already: dict[str, int]) -> list[Kill]:
    kills = []
    for node in nodes:
        already[node] = already.get(node, 0) + 1
        kills.append(Kill(node, already[node]))
    return kills


def status(run_cli: CliRunner, thread: str) -> dict[str, object]:
    proc = run_cli("status", thread, "--json")
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_killed_at_node_after_node_the_run_completes_without_doing_anything_twice(
    run_cli: CliRunner, demo_out: Path, tmp_path: Path, tally: Tally
) -> None:
    db = tmp_path / "checkpoints.sqlite"
    log = tmp_path / "processes.log"
    seen: dict[str, int] = {}
    first = occurrences(BEFORE_APPROVAL if full_sweep() else REPRESENTATIVE, seen)
    demo = ["demo", "--scenario", "handshake-500", "--llm", "scripted", "--requested-by", "carol",
            "--out", str(demo_out), "--checkpointer", str(db)]  # fmt: skip
    proc = fixloop_process(*demo, log=log)
    thread = ""
    kills: list[Kill] = []
    for kill in first:
        kills.append(kill_at(proc, db, kill))
        assert kill.landed, f"the run ended before {kill.node}: {log.read_text()[-3000:]}"
        thread = thread or thread_of(db)
        proc = fixloop_process("resume", thread, log=log)
    assert proc.wait(timeout=900) == 0, log.read_text()[-3000:]
    run = status(run_cli, thread)
    assert run["status"] == "awaiting_approval", (run["outcome"], log.read_text()[-3000:])
    host = LocalCodeHost(demo_out / "workspace", default_remote(demo_out / "workspace"))
    opened = {(p.head, p.number) for p in host.list_prs()}
    assert opened and len(opened) == len({head for head, _ in opened}), opened  # one PR per branch

    if full_sweep():
        seen.update({"run_tests": 1, "realness": 1, "categorize": 1})
        second = occurrences(AFTER_APPROVAL, seen)
        proc = fixloop_process("approve", thread, "--by", "alice", log=log)
        for kill in second:
            kills.append(kill_at(proc, db, kill))
            assert kill.landed, f"the run ended before {kill.node}: {log.read_text()[-3000:]}"
            proc = fixloop_process("resume", thread, log=log)
        assert proc.wait(timeout=900) == 0, log.read_text()[-3000:]
        run = status(run_cli, thread)
        assert run["status"] == "green", (run["outcome"], log.read_text()[-3000:])
        assert len(run["deploys"]) == 1, run["deploys"]  # type: ignore[arg-type]
        assert all(p.state == "merged" for p in host.list_prs())
        remote = default_remote(demo_out / "workspace")
        merges = subprocess.run(["git", "rev-list", "--merges", "main"], cwd=remote, capture_output=True, text=True)
        assert len(merges.stdout.split()) == len(opened), merges.stdout  # each PR merged once

    assert {(p.head, p.number) for p in host.list_prs()} == opened  # no PR opened twice
    comments = [c.body for p in host.store.read().pulls for c in p.comments]
    assert len(comments) == len(set(comments)), comments  # no comment posted twice
    tally["kills-survived"] = sum(k.landed for k in kills)
    tally["prs"] = len(opened)
    print("killed at:", ", ".join(f"{k.node}#{k.occurrence}" for k in kills))
    assert read_run(demo_out)["thread_id"] == thread
