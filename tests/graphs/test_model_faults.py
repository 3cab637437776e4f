"""The model fails: the investigation degrades to the rule-based chain with a finding, a patch that does not
fix the fault goes back to the fixer with the reason, and the run carries on to the approval."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, CliRunner
from tests.graphs.conftest import read_run

EVENTS = "chatbackend/events.py"


def _harmless_patch() -> str:
    """A patch that applies to the example but fixes nothing (a docstring edit)."""
    old = (PROJECT_ROOT / "examples" / "chatbackend" / EVENTS).read_text(encoding="utf-8").splitlines(keepends=True)
    new = [old[0].replace("defined once", "defined once and only once"), *old[1:]]
    assert new != old
    return "".join(difflib.unified_diff(old, new, f"a/{EVENTS}", f"b/{EVENTS}"))


@pytest.mark.slow
def test_model_faults_degrade_and_a_failed_validation_goes_back_to_the_fixer(
    run_cli: CliRunner, demo_out: Path
) -> None:
    wrong_fix = json.dumps({"summary": "reword a docstring", "patch": _harmless_patch(), "files": [EVENTS]})
    steps = {"five_whys": ["500"], "fix": [{"content": wrong_fix}, "scenario"]}
    proc = run_cli(
        "demo", "--scenario", "handshake-500", "--llm", "scripted", "--requested-by", "carol",
        "--out", str(demo_out), env={"FIXLOOP_SCRIPTED_STEPS": json.dumps(steps)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    run = read_run(demo_out)
    assert run["status"] == "awaiting_approval", run["outcome"]
    categories = run["iterations"][0]["categories"]
    assert categories
    for category in categories:
        assert category["five_whys"]["method"] == "rules"  # the model answered 500: rules took over
        assert "model-degraded" in {f["kind"] for f in category["investigation_findings"]}
        assert category["outcome"] == "fixed" and category["pr"] is not None
    retried = [c for c in categories if len(c["attempts"]) == 2]
    assert len(retried) == 1  # only one investigation got the wrong patch
    first, second = retried[0]["attempts"]
    assert first["outcome"].startswith("validation failed") and not first["validated"]
    assert "previous attempt failed: validation failed" in second["feedback"]
    assert second["validated"] and second["audit"]["passed"]
    assert "reword a docstring" in (demo_out / "worklog.md").read_text(encoding="utf-8")
    # not a terminal: validation and stress runs announce themselves as timestamped lines (no long silence)
    stamped = [line for line in proc.stderr.splitlines() if re.match(r"\d\d:\d\d:\d\d ", line)]
    assert any(" validate: " in line and "done" in line for line in stamped), proc.stderr[-3000:]
    assert any(re.search(r" stress \d/\d: .*tests x \d runs", line) for line in stamped), proc.stderr[-3000:]
    assert any(" tests: iteration 1" in line and "tests, done" in line for line in stamped)
