"""Stress re-runs: before a PR, the formerly failing tests run K more times against the patched code.

One green run proves little when the failure was intermittent: any failure in
the K re-runs blocks the PR (the attempt is no longer validated) and becomes a
finding. All K re-runs happen in one real pytest process (``stress_plugin``), each a test item of its own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fixloop.config import Settings
from fixloop.records import PhaseRecord, StressResult, StressRun, TestRun  # the records live in records.py
from fixloop.tools.run_tests import run_tests

PLUGIN_DIR = Path(__file__).resolve().parent / "stress_plugin"
PLUGIN_NAME = "fixloop_stress"
_STRESS_ID = re.compile(r"\[(?:(?P<params>.*)-)?stress(?P<run>\d+)\]$")


def _function_id(nodeid: str) -> str:
    """``f.py::test_x[a]`` -> ``f.py::test_x`` (a file or an unparametrized id is itself)."""
    return nodeid.split("[", 1)[0] if "::" in nodeid else nodeid


def split_stress_id(nodeid: str) -> tuple[str, int]:
    """``test_x[p-stress3]`` -> (``test_x[p]``, 3); a node id without a repetition -> (it, 0)."""
    match = _STRESS_ID.search(nodeid)
    if match is None:
        return nodeid, 0
    params = match.group("params")
    base = nodeid[: match.start()] + (f"[{params}]" if params else "")
    return base, int(match.group("run"))


def stress_rerun(
    repo: Path,
    tests: list[str],
    settings: Settings,
    *,
    runs: int,
    out_dir: Path,
    env: dict[str, str] | None = None,
    record: Callable[[TestRun], PhaseRecord] | None = None,
) -> StressResult:
    """Run ``tests`` ``runs`` times (one pytest process, one item per repetition); a run fails when
    any test fails or errors in it, or a test asked for by node id is missing from it."""
    child_env = dict(env or {})
    # the same precedence as every pytest run (env, then [target] env, then ours): a src-layout library's
    # PYTHONPATH = "src" from its settings must survive the plugin's own entry
    inherited = child_env.get("PYTHONPATH", settings.target.env.get("PYTHONPATH", os.environ.get("PYTHONPATH", "")))
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PLUGIN_DIR), inherited) if p)
    child_env["FIXLOOP_STRESS_RUNS"] = str(runs)
    # A parametrized id (``test_x[a]``) names no item once the repetitions are parametrized in
    # (``test_x[a-stress1]``): pytest is given the function (``test_x``), and the variants not asked for
    # are left out of the results.
    functions = list(dict.fromkeys(_function_id(t) for t in tests))
    variants = {_function_id(t) for t in tests if _function_id(t) != t}
    test_run = run_tests(repo, functions, settings, env=child_env, out_dir=out_dir, extra_args=["-p", PLUGIN_NAME])
    per_run: dict[int, dict[str, str]] = {n: {} for n in range(1, runs + 1)}
    for result in test_run.results:
        base, number = split_stress_id(result.nodeid)
        if base not in tests and _function_id(base) in variants:
            continue  # a sibling variant of a parametrized test asked for by its id
        per_run.setdefault(number, {})[base] = result.outcome
    stress = StressResult(runs=runs, tests=list(tests), phase=record(test_run) if record else None)
    for number in range(1, runs + 1):
        outcomes = per_run.get(number, {})
        failing = [nodeid for nodeid, outcome in outcomes.items() if outcome in ("failed", "error")]
        failing += [t for t in tests if "::" in t and t not in outcomes]  # asked for, never reported
        if not outcomes:
            failing = failing or ["(no test ran)"]
        counts: dict[str, int] = {}
        for outcome in outcomes.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        stress.results.append(StressRun(run=number, counts=counts, failing=failing, exit_code=test_run.exit_code))
    if test_run.collection_errors:
        for run in stress.results:
            run.failing.append("(collection error)")
    return stress


def stress_in_worktree(
    ctx: Any, worktree: Path, tests: list[str], *, runs: int, iteration: int, name: str
) -> StressResult:
    """``stress_rerun`` against a target started from ``worktree`` (stopped afterwards), recorded as a phase."""
    from fixloop.run_record import capture_phase
    from fixloop.target import worktree_target

    def record(test_run: TestRun) -> PhaseRecord:
        return capture_phase(ctx, test_run, iteration=iteration, name=name, kind="stress")

    out_dir = ctx.out_dir / f"iteration-{iteration}" / name
    ctx.notify(f"stress: {len(tests)} fixed tests x {runs} runs against a target from the worktree ({name})")
    stage = ctx.stage("stress", f"{len(tests)} tests x {runs} runs", total=runs, waits_for="the worktree's target")
    with stage, worktree_target(worktree, ctx.settings.target) as env:
        return stress_rerun(worktree, tests, ctx.settings, runs=runs, out_dir=out_dir, env=env, record=record)
