"""The fix eval: a scenario end to end through the whole loop with the scripted model, the JSON
schema, a run that does not reach green reported as such, and the eval's own plumbing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import pytest

from fixloop.errors import UsageError
from fixloop.evaluation.fix_eval import SCRIPTED_PRICES
from fixloop.evaluation.fix_metrics import FixRow, score_run
from fixloop.evaluation.parallel import Job, run_jobs
from fixloop.evaluation.results_table import render_report
from fixloop.evaluation.runner import EvalReport, fix_totals
from fixloop.scenarios import load_scenario
from tests.conftest import PROJECT_ROOT, SRC, CliRunner

EVAL_ARGS = ("eval", "--stage", "fix", "--llm", "scripted", "--scenario", "handshake-500", "--json", "--workers", "1")
# The fixer's model call fails every time (HTTP 500, retried, then given up): no patch, no green.
BROKEN_ENV = {
    "FIXLOOP_SCRIPTED_STEPS": json.dumps({"fix": ["500"]}),
    "FIXLOOP_LIMITS__MAX_FIX_ATTEMPTS": "1",  # one attempt, no retry: the failure is the point, not its cost
    "FIXLOOP_LLM__MAX_RETRIES": "0",
}


def _eval_process(tmp: Path, name: str, extra_env: dict[str, str]) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        FIXLOOP_HOME=str(tmp / f"{name}-home"),
        FIXLOOP_PROJECT_ROOT=str(PROJECT_ROOT),
        OPENAI_BASE_URL="http://127.0.0.1:9/v1",
        **extra_env,
    )
    env.pop("OPENAI_API_KEY", None)
    args = [sys.executable, "-m", "fixloop", *EVAL_ARGS, "--work-dir", str(tmp / name)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


@pytest.fixture(scope="module")
def eval_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[int, dict[str, Any], str]]]:
    """Two fix evals of handshake-500 side by side: the scripted model as is, and with its fix call broken."""
    tmp = tmp_path_factory.mktemp("fix-eval")
    procs = {
        "green": _eval_process(tmp, "green", {}),
        "broken": _eval_process(tmp, "broken", BROKEN_ENV),
    }
    results = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=900)
        assert out.strip(), err[-3000:]
        results[name] = (proc.returncode, json.loads(out), err)
    yield results


def _row(report: dict[str, Any]) -> dict[str, Any]:
    (row,) = report["fix"]["rows"]
    return row


@pytest.mark.slow
def test_handshake_scenario_reaches_green_end_to_end(eval_runs: dict[str, tuple[int, dict[str, Any], str]]) -> None:
    code, report, err = eval_runs["green"]
    assert code == 0, err[-2000:]
    row = _row(report)
    assert row["error"] == ""
    assert row["status"] == "green" and row["as_expected"]
    assert row["found_kinds"] == ["server-error"] and row["category_ok"]
    assert row["rank"] == 1 and row["citations_ok"] and row["citation_problems"] == []
    assert row["patch_applied"] and row["failing_fixed"] and row["no_regression"] and row["audit_passed"]
    assert row["files_touched"] == ["chatbackend/server.py"] == row["gold_files"] and row["files_match"]
    assert row["prs"] == 1 and row["deploys"] == 1 and row["iterations"] == 2
    assert row["approvals"] == ["alice:approve"]  # an approver who is not the requester ("eval")
    assert row["seconds"] > 0
    run_json = json.loads((Path(row["out_dir"]) / "run.json").read_text())
    assert run_json["status"] == "green" and run_json["requested_by"] == "eval"
    assert report["fix"]["totals"]["green"] == 1.0 and report["ok"]


@pytest.mark.slow
def test_tokens_and_cost_per_green_run_come_from_the_run(eval_runs: dict[str, tuple[int, dict[str, Any], str]]) -> None:
    _, report, _ = eval_runs["green"]
    row, totals = _row(report), report["fix"]["totals"]
    cost = json.loads((Path(row["out_dir"]) / "run.json").read_text())["cost"]
    assert (row["tokens_in"], row["tokens_out"]) == (cost["prompt_tokens"], cost["completion_tokens"])
    assert row["tokens_in"] > 0 and row["tokens_out"] > 0
    per_in, per_out = SCRIPTED_PRICES["scripted"]  # the eval's illustrative price of the scripted double
    expected = (row["tokens_in"] * per_in + row["tokens_out"] * per_out) / 1_000_000
    assert row["estimated_usd"] == pytest.approx(expected, abs=1e-6) and expected > 0
    assert sum(c["prompt_tokens"] for c in cost["categories"]) == cost["prompt_tokens"]  # all in categories
    assert totals["usd_per_green"] == pytest.approx(row["estimated_usd"], abs=1e-6)  # one scenario, green
    assert "illustrative" in report["fix"]["price"]
    table = render_report(EvalReport.model_validate(report))
    assert f"| {row['tokens_in']}/{row['tokens_out']} | {row['estimated_usd']:.4f} |" in table
    assert "**Cost per green run $" in table and "/ the 1 that ended green" in table


@pytest.mark.slow
def test_json_schema_says_what_it_measures(eval_runs: dict[str, tuple[int, dict[str, Any], str]]) -> None:
    _, report, _ = eval_runs["green"]
    keys = {"stage", "llm", "command", "date", "machine", "workers", "wall_seconds", "triage", "fix", "ok"}
    assert set(report) == keys
    assert report["stage"] == "fix" and report["llm"] == "scripted" and report["triage"] is None
    assert "--scenario handshake-500" in report["command"] and "CPU" in report["machine"]
    assert "plumbing, not a model" in report["fix"]["measures"]
    assert set(_row(report)) == set(FixRow.model_fields)
    parsed = EvalReport.model_validate(report)
    assert "This measures the plumbing, not a model:" in render_report(parsed)


@pytest.mark.slow
def test_a_run_that_does_not_reach_green_is_reported(eval_runs: dict[str, tuple[int, dict[str, Any], str]]) -> None:
    code, report, err = eval_runs["broken"]
    assert code == 1, err[-2000:]
    row = _row(report)
    assert row["status"] == "gave_up" and not row["as_expected"]
    assert row["found_kinds"] == ["server-error"]  # the triage still worked
    assert row["patch_applied"] is False and row["failing_fixed"] is False and row["prs"] == 0
    assert report["fix"]["totals"]["green"] == 0.0 and not report["ok"]
    assert row["estimated_usd"] > 0 and "usd_per_green" not in report["fix"]["totals"]  # paid, but nothing green
    table = render_report(EvalReport.model_validate(report))
    assert "cost per green run: n/a (no scenario ended green)" in table
    assert "| **gave_up** | green |" in table
    assert "Not as expected:" in table and "handshake-500: gave_up" in table


def test_openai_without_an_endpoint_is_one_line(run_cli: CliRunner) -> None:
    args = ("eval", "--stage", "fix", "--llm", "openai", "--scenario", "handshake-500")
    proc = run_cli(*args, env={"OPENAI_BASE_URL": ""})
    assert proc.returncode == 2
    assert "needs a model endpoint and none is configured" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


class RowBase(TypedDict):
    """The FixRow fields the totals tests share."""

    llm: str
    expected_kinds: list[str]
    expected_file: str
    tokens_in: NotRequired[int]
    tokens_out: NotRequired[int]


def test_totals_leave_out_what_does_not_apply() -> None:
    base: RowBase = {"llm": "scripted", "expected_kinds": ["auth"], "expected_file": "a.py"}
    rows: list[FixRow] = [
        FixRow(scenario="a", **base, category_ok=True, patch_applied=True, failing_fixed=True, status="green"),
        FixRow(scenario="b", **base, patch_applied=False, failing_fixed=None, status="gave_up", error="boom"),
    ]
    rows[0].as_expected = True
    totals = fix_totals(rows)
    assert totals["category_accuracy"] == 0.5 and totals["patch_applied"] == 0.5
    assert totals["failing_fixed"] == 1.0  # b's None is left out, not counted as a pass or a miss
    assert totals["green"] == 1.0 and totals["as_expected"] == 1.0 and totals["errors"] == 1.0
    assert "tokens_in" not in totals  # never invented when the runs did not record them
    assert "usd_per_green" not in totals


def test_cost_per_green_run_divides_every_scenario_cost_by_the_green_ones() -> None:
    base: RowBase = {
        "llm": "scripted",
        "expected_kinds": ["auth"],
        "expected_file": "a.py",
        "tokens_in": 10,
        "tokens_out": 1,
    }
    rows = [
        FixRow(scenario="a", **base, status="green", estimated_usd=0.002),
        FixRow(scenario="b", **base, status="green", estimated_usd=0.003),
        FixRow(scenario="c", **base, status="gave_up", estimated_usd=0.005),  # its cost counts too
    ]
    totals = fix_totals(rows)
    assert totals["estimated_usd"] == pytest.approx(0.01) and totals["usd_per_green"] == pytest.approx(0.005)
    assert totals["tokens_in"] == 30.0
    rows[2].estimated_usd = None  # a model without a price: no total made up from the others
    assert "estimated_usd" not in fix_totals(rows) and "usd_per_green" not in fix_totals(rows)


def test_a_row_takes_tokens_and_price_from_the_runs_cost() -> None:
    row = FixRow(scenario="a", llm="scripted", expected_kinds=["auth"], expected_file="a.py")
    score_run(
        row,
        load_scenario("handshake-500"),
        {"status": "green", "cost": {"prompt_tokens": 7, "completion_tokens": 2, "estimated_usd": 0.5}},
    )
    assert (row.tokens_in, row.tokens_out, row.estimated_usd) == (7, 2, 0.5)


def home_and_pid(fail: bool) -> tuple[str, int]:
    if fail:
        raise RuntimeError("job failed")
    return os.environ["FIXLOOP_HOME"], os.getpid()


def test_jobs_run_in_their_own_processes_and_homes(tmp_path: Path) -> None:
    jobs = [Job(key, home_and_pid, tmp_path / key, (key == "bad",)) for key in ("a", "b", "bad")]
    results = dict(run_jobs(jobs, workers=2))
    assert results["a"][0] == str(tmp_path / "a") and results["b"][0] == str(tmp_path / "b")
    assert len({results["a"][1], results["b"][1], os.getpid()}) == 3
    assert isinstance(results["bad"], RuntimeError)
    with pytest.raises(UsageError, match="at least 1"):
        list(run_jobs(jobs, workers=0))


def test_a_report_only_scenario_is_not_scored_on_fixing_its_failures() -> None:
    """flaky-race must end in a report: its still-failing test is not a "failing fixed: no"."""
    scenario = load_scenario("flaky-race")
    failing = {"nodeid": "tests/e2e/test_x.py::test_race", "outcome": "failed"}
    doc = {"status": "diagnosed", "iterations": [{"categories": [], "results": [failing]}], "prs": []}
    row = FixRow(scenario=scenario.name, llm="scripted", expected_kinds=scenario.expected_kinds,
                 expected_file=scenario.expected_file)  # fmt: skip
    score_run(row, scenario, doc)
    assert row.failing_fixed is None and row.prs == 0
    green_expected = load_scenario("handshake-500")
    other = FixRow(scenario=green_expected.name, llm="scripted", expected_kinds=green_expected.expected_kinds,
                   expected_file=green_expected.expected_file)  # fmt: skip
    score_run(other, green_expected, doc)
    assert other.failing_fixed is False  # where a fix is expected, a failure left failing counts
