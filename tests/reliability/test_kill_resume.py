"""kill -9 of a real ``fixloop`` process at node after node, each time resumed by a new process: the run
completes and no side effect happens twice (PRs, PR comments, merges, deploys).

tests/graphs/test_durability.py kills at four fixed hooks (evidence, after the first PR, after the merge,
after the deploy). Here the kill comes from outside, when the run's checkpointer shows it entering a node
(``killing.py``), with ``FIXLOOP_RELIABILITY_FULL=1`` only (a run per kill is too slow for the normal run):
at every node of the loop and of the investigation subgraph, through
approval, merge, deploy and the re-test to green.
``FIXLOOP_RELIABILITY_KILLS=run_tests,validate`` picks a few nodes before the approval."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from fixloop.exit_codes import AWAITING_APPROVAL
from fixloop.integrations.codehost import default_remote
from fixloop.integrations.codehost.local import LocalCodeHost
from tests.conftest import CliRunner
from tests.graphs.conftest import read_run
from tests.reliability.conftest import Tally, full_sweep
from tests.reliability.killing import (
    Kill,
    branch_writes,
    fixloop_process,
    kill_at,
    kill_on_resume,
    resumed_lines,
    thread_of,
)

BEFORE_APPROVAL = [
    "intake", "select", "run_tests", "realness", "categorize",
    "evidence", "five_whys", "fix", "validate", "audit", "finish", "collect", "open_prs",
]  # fmt: skip
AFTER_APPROVAL = ["merge", "deploy", "run_tests", "realness", "categorize"]


def sweep(nodes: list[str], db: Path, log: Path, first: Callable[[], subprocess.Popen[str]]) -> list[Kill]:
    """Start ``first``; kill it at ``nodes[0]``, resume in a new process, kill that at ``nodes[1]``, ...

    A node is reached either by a new ``branch:to:<node>`` write, or, when the killed process had already
    routed to it (a short node finishes before the SIGKILL lands), by the resumed process starting in it."""
    kills = []
    at_start = {node: branch_writes(db, node) for node in nodes}  # counted before the process starts
    lines = resumed_lines(log)
    proc = first()
    for index, node in enumerate(nodes):
        if index and branch_writes(db, node) > at_start[node]:
            kill = kill_on_resume(proc, log, Kill(node, seen_before=at_start[node]), lines)
        else:
            kill = kill_at(proc, db, Kill(node, seen_before=at_start[node]))
        assert kill.landed, f"the run ended before {node}: {log.read_text()[-3000:]}"
        kills.append(kill)
        if index + 1 < len(nodes):
            following = nodes[index + 1]
            if branch_writes(db, following) > at_start[following]:
                at_start = {n: at_start[n] for n in nodes}  # already routed: the resumed process starts in it
            else:
                at_start = {n: branch_writes(db, n) for n in nodes}
            lines = resumed_lines(log)
            proc = fixloop_process("resume", thread_of(db), log=log)
    return kills


def status(run_cli: CliRunner, thread: str) -> dict[str, object]:
    proc = run_cli("status", thread, "--json")
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.skipif(
    not (full_sweep() or os.environ.get("FIXLOOP_RELIABILITY_KILLS")),
    reason="full sweep only (test_durability.py kills in the normal run)",
)
def test_killed_at_node_after_node_the_run_completes_without_doing_anything_twice(
    run_cli: CliRunner, demo_out: Path, tmp_path: Path, tally: Tally
) -> None:
    db = tmp_path / "checkpoints.sqlite"
    log = tmp_path / "processes.log"
    chosen = [n.strip() for n in os.environ.get("FIXLOOP_RELIABILITY_KILLS", "").split(",") if n.strip()]
    demo = ["demo", "--scenario", "handshake-500", "--llm", "scripted", "--requested-by", "carol",
            "--out", str(demo_out), "--checkpointer", str(db)]  # fmt: skip
    nodes = chosen or BEFORE_APPROVAL
    kills = sweep(nodes, db, log, lambda: fixloop_process(*demo, log=log))
    thread = thread_of(db)
    proc = fixloop_process("resume", thread, log=log)
    assert proc.wait(timeout=900) == AWAITING_APPROVAL, log.read_text()[-3000:]
    run = status(run_cli, thread)
    assert run["status"] == "awaiting_approval", (run["outcome"], log.read_text()[-3000:])
    host = LocalCodeHost(demo_out / "workspace", default_remote(demo_out / "workspace"))
    opened = {(p.head, p.number) for p in host.list_prs()}
    assert opened and len(opened) == len({head for head, _ in opened}), opened  # one PR per branch

    if not chosen:
        kills += sweep(AFTER_APPROVAL, db, log, lambda: fixloop_process("approve", thread, "--by", "alice", log=log))
        proc = fixloop_process("resume", thread, log=log)
        assert proc.wait(timeout=900) == 0, log.read_text()[-3000:]
        run = status(run_cli, thread)
        assert run["status"] == "green", (run["outcome"], log.read_text()[-3000:])
        deploys = run["deploys"]
        assert isinstance(deploys, list), deploys
        assert len(deploys) == 1, deploys
        assert all(p.state == "merged" for p in host.list_prs())
        remote = default_remote(demo_out / "workspace")
        merges = subprocess.run(["git", "rev-list", "--merges", "main"], cwd=remote, capture_output=True, text=True)
        assert len(merges.stdout.split()) == len(opened), merges.stdout  # each PR merged once

    assert {(p.head, p.number) for p in host.list_prs()} == opened  # no PR opened twice
    comments = [c.body for p in host.store.read().pulls for c in p.comments]
    assert len(comments) == len(set(comments)), comments  # no comment posted twice
    tally["kills-survived"] = sum(k.landed for k in kills)
    tally["prs"] = len(opened)
    print("killed at:", ", ".join(k.node for k in kills))
    assert read_run(demo_out)["thread_id"] == thread
