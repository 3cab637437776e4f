"""Report-only endings through the whole graph (`fixloop demo --llm scripted`, real target, real git):
an infrastructure failure of the target gets a report, no patch and no PR, even with a model at hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CliRunner
from tests.graphs.conftest import read_run


@pytest.mark.slow
def test_a_target_down_for_infrastructure_ends_in_a_report_without_a_pr(run_cli: CliRunner, demo_out: Path) -> None:
    proc = run_cli("demo", "--scenario", "infra-down", "--llm", "scripted", "--out", str(demo_out))
    assert proc.returncode == 0, proc.stderr
    run = read_run(demo_out)
    assert run["status"] == "diagnosed", run["outcome"]
    assert run["outcome"].startswith("reported, no code fix")
    assert run["prs"] == [] and run["approvals"] == [] and run["deploys"] == []
    categories = run["iterations"][0]["categories"]
    assert categories and {c["kind"] for c in categories} == {"environment"}
    for category in categories:
        # decided from the evidence: the target's own start error (a host network error), not the scenario
        assert "could not start" in category["report"] and "cannot assign requested address" in category["report"]
        assert category["attempts"] == [] and category["fix"] is None and category["pr"] is None
        assert category["five_whys"] is not None  # still investigated and explained
    worklog = (demo_out / "worklog.md").read_text(encoding="utf-8")
    assert "**Reported, no code fix** — infrastructure" in worklog
