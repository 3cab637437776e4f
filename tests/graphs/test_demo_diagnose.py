"""`fixloop demo --llm none`: the README's main command, end to end in a real subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixloop.target import target_status
from tests.conftest import CliRunner
from tests.graphs.conftest import read_run


@pytest.mark.slow
def test_demo_without_a_model_ends_diagnosed_with_a_cited_five_whys(run_cli: CliRunner, demo_out: Path) -> None:
    proc = run_cli("demo", "--scenario", "handshake-500", "--llm", "none", "--out", str(demo_out))
    assert proc.returncode == 0, proc.stderr
    run = read_run(demo_out)
    assert run["status"] == "diagnosed"
    assert run["llm"] == {"mode": "none", "model": ""}
    assert f"run {run['thread_id']}: DIAGNOSED" in proc.stdout
    iteration = run["iterations"][0]
    assert iteration["selected_tests"] and iteration["results"]
    failed = {r["nodeid"] for r in iteration["results"] if r["outcome"] in ("failed", "error")}
    assert "tests/e2e/staging/test_1_websocket_events_staging.py::test_websocket_connection" in failed
    categories = iteration["categories"]
    assert categories and any(c["kind"] == "server-error" for c in categories)
    for category in categories:
        assert set(category["tests"]) <= failed | {r["nodeid"] for r in iteration["results"]}
        evidence_ids = {item["id"] for item in category["evidence"]["items"]}
        steps = category["five_whys"]["steps"]
        assert len(steps) >= 5
        for step in steps:
            assert step["evidence"] and set(step["evidence"]) <= evidence_ids
        assert category["fix"] is None and category["pr"] is None  # no model, no patch
    worklog = (demo_out / "worklog.md").read_text(encoding="utf-8")
    assert "**Status**: DIAGNOSED" in worklog
    assert "## Five whys per category" in worklog and categories[0]["id"] in worklog
    assert "KeyError" in worklog  # the log evidence of the fault is quoted
    info = target_status(demo_out / "workspace")
    assert info is None or not info.running  # the demo stops its target when it is done
