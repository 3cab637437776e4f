"""The triage eval: a real scenario end to end through the CLI, and the scoring of rows."""

from __future__ import annotations

import json

import pytest

from fixloop.evaluation.triage_eval import ScenarioRow, TriageEvalResult, _totals, render_markdown
from tests.conftest import CliRunner


@pytest.mark.slow
def test_eval_of_the_handshake_scenario_through_the_cli(run_cli: CliRunner) -> None:
    proc = run_cli("eval", "--stage", "triage", "--scenario", "handshake-500", "--reruns", "0", "--json", timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    (row,) = result["rows"]
    assert row["error"] == ""
    assert row["found_kinds"] == ["server-error"] and row["category_ok"]
    assert row["rank"] == 1 and row["top1_no_history"]
    assert row["citations_ok"]
    assert row["fix_location"] == "chatbackend/server.py:open_session"
    assert result["totals"]["category_accuracy"] == 1.0 and result["met"]


def test_unknown_scenario_is_one_line(run_cli: CliRunner) -> None:
    proc = run_cli("eval", "--stage", "triage", "--scenario", "no-such-thing")
    assert proc.returncode == 2
    assert "unknown scenario 'no-such-thing'" in proc.stderr and "Traceback" not in proc.stderr


def test_totals_and_table() -> None:
    rows = [
        ScenarioRow(
            scenario="a",
            expected_kinds=["auth"],
            found_kinds=["auth"],
            category_ok=True,
            expected_file="x.py",
            rank=1,
            top1=True,
            top3=True,
            citations_ok=True,
        ),
        ScenarioRow(
            scenario="b", expected_kinds=["flaky"], found_kinds=["protocol"], expected_file="y.py", rank=3, top3=True
        ),
    ]
    totals = _totals(rows)
    assert totals["category_accuracy"] == 0.5 and totals["top1"] == 0.5 and totals["top3"] == 1.0
    table = render_markdown(TriageEvalResult(rows=rows, totals=totals))
    assert "| a | auth | auth | ok | x.py | 1 | yes | yes |" in table
    assert "| b | flaky | protocol | MISS | y.py | 3 | no | yes |" in table
    assert "goals NOT met" in table
