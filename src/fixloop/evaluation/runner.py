"""``fixloop eval``: run the triage and/or fix evals over the scenarios, in parallel worker processes.

Each scenario of each stage is one job with its own work folder and ``FIXLOOP_HOME``
(``parallel.run_jobs``); the triage job is the triage eval's own ``evaluate_scenario``, unchanged.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from fixloop.evaluation.fix_eval import (
    SCRIPTED_NOTE,
    LLMChoice,
    check_model_configured,
    evaluate_fix_scenario,
    price_note,
)
from fixloop.evaluation.fix_metrics import FixRow
from fixloop.evaluation.parallel import DEFAULT_WORKERS, Job, run_jobs
from fixloop.evaluation.triage_eval import GOALS, ScenarioRow, TriageEvalResult, _totals, evaluate_scenario
from fixloop.records import utc_now
from fixloop.scenarios import Scenario

Stage = Literal["triage", "fix", "all"]


class FixEvalResult(BaseModel):
    stage: str = "fix"
    llm: str
    model: str = ""
    measures: str = ""  # what the figures measure (the scripted model: the plumbing, not a model)
    price: str = ""  # where the estimated cost's price comes from (the scripted model's is illustrative)
    rows: list[FixRow] = Field(default_factory=list)
    totals: dict[str, float] = Field(default_factory=dict)


class EvalReport(BaseModel):
    """What ``fixloop eval --json`` prints: the run's context and one result per stage run."""

    stage: str
    llm: str
    command: str
    date: str
    machine: str
    workers: int
    wall_seconds: float = 0.0
    triage: TriageEvalResult | None = None
    fix: FixEvalResult | None = None
    ok: bool = False  # triage goals met (when run) and every fix row ended as expected (when run)


def run_eval(
    scenarios: list[Scenario],
    *,
    stage: Stage,
    llm: LLMChoice,
    workers: int = DEFAULT_WORKERS,
    reruns: int | None = None,
    work_root: Path | None = None,
    command: str = "",
    progress: Callable[[str], None] | None = None,
) -> EvalReport:
    """Run ``stage`` over ``scenarios``; work folders are removed afterwards unless ``work_root`` is given."""
    model = check_model_configured(llm) if stage != "triage" else ""
    started = time.monotonic()
    report = EvalReport(
        stage=stage,
        llm=llm,
        command=command,
        date=utc_now().strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine(),
        workers=workers,
    )
    root = work_root or Path(tempfile.mkdtemp(prefix="fixloop-eval-"))
    try:
        results = _run_all(_jobs(scenarios, stage, llm, reruns, root), workers, progress)
    finally:
        if work_root is None:
            shutil.rmtree(root, ignore_errors=True)
    if stage in ("triage", "all"):
        rows = [_triage_row(results[f"triage:{s.name}"], s) for s in scenarios]
        totals = _totals(rows)
        met = bool(rows) and all(totals[k] >= v for k, v in GOALS.items())
        report.triage = TriageEvalResult(llm="none", rows=rows, totals=totals, met=met)
    if stage in ("fix", "all"):
        fix_rows = [_fix_row(results[f"fix:{s.name}"], s, llm) for s in scenarios]
        report.fix = FixEvalResult(
            llm=llm,
            model=model,
            measures=SCRIPTED_NOTE if llm == "scripted" else "",
            price=price_note(llm),
            rows=fix_rows,
            totals=fix_totals(fix_rows),
        )
    report.wall_seconds = round(time.monotonic() - started, 1)
    report.ok = (report.triage is None or report.triage.met) and (
        report.fix is None or all(r.as_expected for r in report.fix.rows)
    )
    return report


def _jobs(scenarios: list[Scenario], stage: Stage, llm: LLMChoice, reruns: int | None, root: Path) -> list[Job]:
    jobs = []
    for scenario in scenarios:
        if stage in ("fix", "all"):  # the long ones first, so the pool ends together
            folder = root / "fix" / scenario.name
            jobs.append(Job(f"fix:{scenario.name}", evaluate_fix_scenario, folder / "home", (scenario, folder, llm)))
    for scenario in scenarios:
        if stage in ("triage", "all"):
            folder = root / "triage" / scenario.name
            args = (scenario, folder / "workspace", reruns)
            jobs.append(Job(f"triage:{scenario.name}", _triage_job, folder / "home", args))
    return jobs


def _triage_job(scenario: Scenario, workspace: Path, reruns: int | None) -> ScenarioRow:
    return evaluate_scenario(scenario, workspace, reruns=reruns)


def _run_all(jobs: list[Job], workers: int, progress: Callable[[str], None] | None) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for done, (key, result) in enumerate(run_jobs(jobs, workers=workers), start=1):
        results[key] = result
        if progress:
            progress(f"[{done}/{len(jobs)}] {key}: {_summary(result)}")
    return results


def _summary(result: Any) -> str:
    if isinstance(result, FixRow):
        return f"{result.status} ({result.seconds:.0f} s)" + (f" error: {result.error}" if result.error else "")
    if isinstance(result, ScenarioRow):
        mark = "ok" if result.category_ok else "MISS"
        return f"{mark} kinds {result.found_kinds}, rank {result.rank} ({result.seconds:.0f} s)"
    return f"failed: {type(result).__name__}: {result}"


def _triage_row(result: Any, scenario: Scenario) -> ScenarioRow:
    if isinstance(result, ScenarioRow):
        return result
    return ScenarioRow(
        scenario=scenario.name,
        expected_kinds=sorted(scenario.expected_kinds),
        expected_file=scenario.expected_file,
        error=f"worker failed: {type(result).__name__}: {result}"[:300],
    )


def _fix_row(result: Any, scenario: Scenario, llm: LLMChoice) -> FixRow:
    if isinstance(result, FixRow):
        return result
    return FixRow(
        scenario=scenario.name,
        llm=llm,
        expected_kinds=sorted(scenario.expected_kinds),
        expected_file=scenario.expected_file,
        error=f"worker failed: {type(result).__name__}: {result}"[:300],
    )


def fix_totals(rows: list[FixRow]) -> dict[str, float]:
    """Ratios over the scenarios where a metric applies (``None`` rows are left out of its ratio)."""
    count = len(rows) or 1

    def ratio(name: str) -> float:
        values = [getattr(r, name) for r in rows if getattr(r, name) is not None]
        return round(sum(bool(v) for v in values) / len(values), 3) if values else 0.0

    totals = {
        "scenarios": float(len(rows)),
        "category_accuracy": round(sum(r.category_ok for r in rows) / count, 3),
        "top1": round(sum(r.top1 for r in rows) / count, 3),
        "top3": round(sum(r.top3 for r in rows) / count, 3),
        "citations_ok": round(sum(r.citations_ok for r in rows) / count, 3),
        "patch_applied": ratio("patch_applied"),
        "failing_fixed": ratio("failing_fixed"),
        "no_regression": ratio("no_regression"),
        "audit_passed": ratio("audit_passed"),
        "files_match": ratio("files_match"),
        "green": float(sum(r.status == "green" for r in rows)),
        "expected_green": float(sum(r.expected_end == "green" for r in rows)),
        "as_expected": float(sum(r.as_expected for r in rows)),
        "errors": float(sum(bool(r.error) for r in rows)),
        "scenario_seconds": round(sum(r.seconds for r in rows), 1),
    }
    if all(r.tokens_in is not None for r in rows) and rows:
        totals["tokens_in"] = float(sum(r.tokens_in or 0 for r in rows))
        totals["tokens_out"] = float(sum(r.tokens_out or 0 for r in rows))
    if all(r.estimated_usd is not None for r in rows) and rows:
        totals["estimated_usd"] = round(sum(r.estimated_usd or 0.0 for r in rows), 6)
        if totals["green"]:  # every scenario's cost, green or not, over the scenarios that ended green
            totals["usd_per_green"] = round(totals["estimated_usd"] / totals["green"], 6)
    return totals


def machine() -> str:
    cpus = os.cpu_count() or 0
    return f"{platform.system()} {platform.machine()}, {cpus} CPU, Python {sys.version.split()[0]}"
