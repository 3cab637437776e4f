"""One PR per fault through the whole graph: missing-env splits into two `environment` categories (the HTTP
tests and the WebSocket tests cannot reach the target that did not start) whose scripted fixes are the same
patch. One PR covers both; the approval, the merge and the re-test work on it as on any PR."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fixloop.integrations.codehost import default_remote
from fixloop.integrations.codehost.local import LocalCodeHost
from tests.conftest import CliRunner
from tests.graphs.conftest import read_run


def _status(run_cli: CliRunner, thread: str) -> dict[str, Any]:
    proc = run_cli("status", thread, "--json")
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


@pytest.mark.slow
def test_categories_of_one_fault_share_one_pr_that_merges_to_green(run_cli: CliRunner, demo_out: Path) -> None:
    demo = ["demo", "--scenario", "missing-env", "--llm", "scripted", "--requested-by", "carol"]
    proc = run_cli(*demo, "--out", str(demo_out))
    assert proc.returncode == 0, proc.stderr
    run = read_run(demo_out)
    assert run["status"] == "awaiting_approval", run["outcome"]
    categories = run["iterations"][0]["categories"]
    fixed = [c for c in categories if c["outcome"] == "fixed"]
    assert len(fixed) >= 2 and len({c["kind"] for c in fixed}) == 1, [c["id"] for c in categories]
    assert len({c["fix"]["patch"] for c in fixed}) == 1  # the same patch, proposed once per category

    assert len(run["prs"]) == 1
    pr = run["prs"][0]
    lead = next(c for c in fixed if c["id"] == pr["category_id"])
    assert lead["covered_by"] == "" and all(c["pr"]["number"] == pr["number"] for c in fixed)
    assert {c["covered_by"] for c in fixed if c is not lead} == {lead["id"]}
    host = LocalCodeHost(demo_out / "workspace", default_remote(demo_out / "workspace"))
    assert [p.number for p in host.list_prs()] == [pr["number"]]  # nothing else was opened on the code host
    body = host.get_pr(pr["number"]).body
    assert all(f"`{c['id']}`" in body and c["id"] in pr["title"] for c in fixed)
    assert all(f"`{t}`" in body for c in fixed for t in c["tests"])  # the failing tests of every category

    refused = run_cli("approve", run["thread_id"], "--by", "carol")  # four-eyes still holds
    assert refused.returncode == 3, refused.stderr
    approved = run_cli("approve", run["thread_id"], "--by", "alice", timeout=600)
    assert approved.returncode == 0, approved.stderr
    status = _status(run_cli, run["thread_id"])
    assert status["status"] == "green", status["outcome"]
    assert [(p["number"], p["state"]) for p in status["prs"]] == [(pr["number"], "merged")]
    assert [p.state for p in host.list_prs()] == ["merged"]
    assert len(status["deploys"]) == 1
    first = status["iterations"][0]["categories"]
    assert all(c["pr"]["state"] == "merged" for c in first if c["outcome"] == "fixed")  # every covered category
