"""The scripted loop: the approval interrupt, and every decision taken by a *different*
process that resumes the run from its checkpoint (SQLite; the PostgreSQL variant is the kill -9 test)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
from langgraph.runtime import Runtime
from langgraph.types import Command

from fixloop.checkpoints import open_store
from fixloop.config import load_settings
from fixloop.context import RunContext
from fixloop.errors import ApprovalError
from fixloop.exit_codes import AWAITING_APPROVAL
from fixloop.graphs.remediation import build_graph, merge_node
from fixloop.integrations.codehost import build_codehost
from fixloop.records import ApprovalRecord
from fixloop.redaction import Redactor
from fixloop.runs import approve_run
from fixloop.state import RemediationState
from tests.conftest import CliRunner
from tests.graphs.conftest import read_run

REASON = "keep the claim name in one place"


def _categories(run: dict[str, Any], iteration: int = 1) -> list[dict[str, Any]]:
    return list(next(i for i in run["iterations"] if i["iteration"] == iteration)["categories"])


def _status(run_cli: CliRunner, thread: str, cwd: Path) -> dict[str, Any]:
    proc = run_cli("status", thread, "--json", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def _scripted_demo(run_cli: CliRunner, out: Path, checkpointer: list[str]) -> dict[str, Any]:
    proc = run_cli(
        "demo", "--scenario", "handshake-500", "--llm", "scripted", "--requested-by", "carol",
        "--out", str(out), *checkpointer,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    run = read_run(out)
    assert run["status"] == "awaiting_approval", run["outcome"]
    return run


def _approve_to_green(run_cli: CliRunner, thread: str, cwd: Path) -> None:
    approved = run_cli("approve", thread, "--by", "alice", cwd=cwd, timeout=600)
    assert approved.returncode == 0, approved.stderr
    status = _status(run_cli, thread, cwd)
    assert status["status"] == "green", status["outcome"]
    assert status["prs"] and all(pr["state"] == "merged" for pr in status["prs"])
    assert len(status["deploys"]) == 1 and status["deploys"][0]["outcome"] == "healthy"
    last = status["iterations"][-1]
    assert last["iteration"] == 2 and last["counts"].get("failed", 0) == 0 and last["counts"].get("passed", 0) > 0


def _forge_past_the_approval(out: Path, thread: str) -> None:
    """Skip approve_run: resume the graph with a crafted value, then hand the merge node a forged record."""
    repo = out / "workspace"
    settings = load_settings(repo)
    ctx = RunContext(
        settings=settings,
        repo=repo,
        out_dir=out,
        thread_id=thread,
        redactor=Redactor(),
        codehost=build_codehost(settings, repo),
    )
    config: Any = {"configurable": {"thread_id": thread}}
    with open_store() as store:
        graph = build_graph(checkpointer=store.saver)
        graph.invoke(Command(resume={"decision": "approve", "by": "mallory"}), config, context=ctx)
        state = graph.get_state(config)
        assert state.interrupts  # the approval node re-checked the value, refused it, and waits again
        prs = [pr.number for pr in state.values["prs"]]
        forged = ApprovalRecord(by="mallory", decision="approve", prs=prs)
        forged_state = {**state.values, "approvals": [*state.values["approvals"], forged]}
        command = merge_node(cast(RemediationState, forged_state), Runtime(context=ctx))
    assert command.goto == "approval"  # refused: back to the approval, nothing merged


@pytest.mark.slow
def test_approval_refusals_forgery_reject_then_approve_each_in_a_new_process(
    run_cli: CliRunner, demo_out: Path, tmp_path: Path
) -> None:
    run = _scripted_demo(run_cli, demo_out, [])
    assert run["llm"]["mode"] == "scripted" and run["llm"]["model"].startswith("scripted")
    assert "scripted" in (demo_out / "worklog.md").read_text(encoding="utf-8")

    assert _categories(run) and all(c["pr"] for c in _categories(run) if c["outcome"] == "fixed")
    prs = {pr["number"] for pr in run["prs"]}
    assert prs and all(pr["state"] == "open" for pr in run["prs"])
    thread = run["thread_id"]
    elsewhere = tmp_path / "elsewhere"  # every decision below is a new process, in another folder
    elsewhere.mkdir()

    for who in ("carol", "mallory"):  # the requester (four-eyes) and a stranger
        refused = run_cli("approve", thread, "--by", who, cwd=elsewhere)
        assert refused.returncode == 3 and "refused" in refused.stderr, refused.stderr
    _forge_past_the_approval(demo_out, thread)
    status = _status(run_cli, thread, elsewhere)
    assert status["status"] == "awaiting_approval"
    assert all(pr["state"] == "open" for pr in status["prs"])
    assert [(a["by"], a["decision"]) for a in status["approvals"]] == [
        ("carol", "refused"),
        ("mallory", "refused"),
        ("mallory", "refused"),  # the crafted resume value was re-checked by the graph
    ]

    # a chat approval names the PR head commits it approves: one naming another commit is void, recorded as refused
    with pytest.raises(ApprovalError, match="nothing approved"):
        approve_run(thread, by="alice", source="github", heads=["deadbee"])
    status = _status(run_cli, thread, elsewhere)
    assert status["status"] == "awaiting_approval" and all(pr["state"] == "open" for pr in status["prs"])
    assert [(a["by"], a["decision"]) for a in status["approvals"]][3:] == [("alice", "refused")]
    assert "deadbee" in status["approvals"][3]["reason"]
    # the CLI names the heads too: a stale --head is refused and recorded the same way
    stale = run_cli("approve", thread, "--by", "alice", "--head", "deadbee", cwd=elsewhere)
    assert stale.returncode == 3 and "nothing approved" in stale.stderr, stale.stderr
    assert [a["decision"] for a in _status(run_cli, thread, elsewhere)["approvals"]][4:] == ["refused"]

    rejected = run_cli("reject", thread, "--by", "bob", "--reason", REASON, cwd=elsewhere)
    assert rejected.returncode == AWAITING_APPROVAL, rejected.stderr  # re-fixed, the PRs wait again
    status = _status(run_cli, thread, elsewhere)
    assert status["status"] == "awaiting_approval"
    assert status["approvals"][-1]["decision"] == "reject"
    fixed = [c for c in _categories(status) if c["pr"]]
    assert fixed and all(REASON in c["attempts"][0]["feedback"] for c in fixed)  # the fixer heard the reviewer
    assert {pr["number"] for pr in status["prs"]} == prs  # the same PRs were updated, none opened
    before = {c["id"]: c["usage"]["calls"] for c in _categories(run)}
    # model usage per category adds the second investigation (another process) to the first
    assert all(c["usage"]["investigations"] == 2 and c["usage"]["calls"] > before[c["id"]] for c in fixed)
    cost = status["cost"]
    assert cost["processes"] >= 2 and cost["calls"] == sum(u["calls"] for u in cost["categories"])

    _approve_to_green(run_cli, thread, elsewhere)
