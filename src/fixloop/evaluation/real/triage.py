"""The triage eval on one real case: build it, then do what ``fixloop run --focus <word> --llm none`` does
up to localization (select, run, realness, flaky re-runs, categorize, evidence, rule five whys) and score.

Scores: ``kind_ok`` when the category holding most of the fault's failing tests has the case's kind;
``file_rank`` / ``function_rank`` are the 1-based ranks of the root-cause file / function among that
category's ranked locations (``file_rank_no_history`` ranks again without the git-history signal).
The time bound: the triage run (test phase + re-runs + triage) against plain pytest of the same
selected tests + 2 x the per-test timeout + the re-runs' own time.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from pydantic import BaseModel, Field

from fixloop.agents.triage_report import CategoryReport, redactor_for, triage_run
from fixloop.config import Settings, load_settings
from fixloop.evaluation.real.build import build_case
from fixloop.evaluation.real.recipes import RealCase, RealProject
from fixloop.records import Location, TestRun
from fixloop.tools.localize import localize
from fixloop.tools.run_tests import run_tests
from fixloop.tools.select_tests import select_tests
from fixloop.tools.test_phase import run_test_phase

GOALS = {"reproduced": 1.0, "kind_accuracy": 0.90, "within_bound": 1.0}


class RealRow(BaseModel):
    case: str
    project: str
    fault: str
    historical: bool = False
    reproduced: bool = False
    reproduction: str = ""
    expected_kind: str
    found_kinds: list[str] = Field(default_factory=list)
    main_kind: str = ""
    kind_ok: bool = False
    expected_file: str
    expected_function: str
    ranked: list[str] = Field(default_factory=list)  # "file:function" of the main category, best first
    file_rank: int | None = None
    function_rank: int | None = None
    file_rank_no_history: int | None = None
    selected: int = 0  # test targets selected for the focus
    results: int = 0
    counts: dict[str, int] = Field(default_factory=dict)
    reruns: int = 0
    triage_seconds: float = 0.0  # test phase + re-runs + triage
    rerun_seconds: float = 0.0
    plain_seconds: float | None = None  # plain pytest of the same selected tests (None: killed at its cap)
    bound_seconds: float | None = None
    within_bound: bool = False
    build_seconds: float = 0.0
    error: str = ""


def evaluate_real_case(project: RealProject, case: RealCase, folder: Path, cache: Path) -> RealRow:
    """One case end to end; machinery errors are recorded in the row, never raised."""
    row = RealRow(
        case=case.name, project=f"{project.package} {project.version}", fault=case.fault,
        historical=case.history is not None, expected_kind=case.kind, expected_file=case.file,
        expected_function=case.function,
    )  # fmt: skip
    started = time.monotonic()
    try:
        built = build_case(project, case, folder / "repo", cache)
        row.build_seconds = round(time.monotonic() - started, 1)
        row.reproduced, row.reproduction = built.reproduced, built.note
        if built.reproduced:
            _triage(row, project, case, built.repo, set(built.fault_failing), folder)
    except Exception as exc:  # the eval reports a broken case and goes on
        row.error = f"{type(exc).__name__}: {exc}"[:300]
    return row


def _triage(row: RealRow, project: RealProject, case: RealCase, repo: Path, failing: set[str], folder: Path) -> None:
    settings = load_settings(repo)
    began = time.monotonic()
    selection = select_tests(repo, case.focus, settings)
    targets = selection.test_targets()
    row.selected = len(targets)
    if not targets:
        row.error = f"focus {case.focus!r} selects no test"
        return
    report = run_test_phase(repo, targets, settings, selection=selection, env={}, out_dir=folder / "run")
    rerun_time = [0.0]

    def rerun(ids: list[str]) -> TestRun:
        t0 = time.monotonic()
        try:
            return run_tests(repo, ids, settings, env={}, out_dir=folder / "rerun")
        finally:
            rerun_time[0] += time.monotonic() - t0

    triage = triage_run(
        report.run, report.findings, repo=repo, settings=settings, logs=None, focus=case.focus,
        redactor=redactor_for(settings), rerun=rerun, reruns=settings.tests.flaky_reruns,
    )  # fmt: skip
    row.triage_seconds = round(time.monotonic() - began, 1)
    row.rerun_seconds = round(rerun_time[0], 1)
    row.reruns, row.counts, row.results = triage.reruns, report.run.counts(), len(report.run.results)
    row.found_kinds = sorted({c.category.kind for c in triage.categories})
    main = _main(triage.categories, failing)
    if main is not None:
        row.main_kind = main.category.kind
        row.kind_ok = main.category.kind == case.kind
        _rank(row, case, main.evidence.locations)
        plain = localize(main.category, report.run, repo=repo, focus=case.focus, commits=[])
        files = [loc.file for loc in plain]
        row.file_rank_no_history = files.index(case.file) + 1 if case.file in files else None
    row.plain_seconds = plain_pytest_seconds(repo, targets, settings, cap=max(60.0, 3 * row.triage_seconds))
    if row.plain_seconds is not None:
        row.bound_seconds = round(row.plain_seconds + 2 * settings.tests.timeout + row.rerun_seconds, 1)
        row.within_bound = row.triage_seconds <= row.bound_seconds
    else:  # plain pytest hangs: any finished triage is within its bound
        row.within_bound = True


def _main(categories: list[CategoryReport], failing: set[str]) -> CategoryReport | None:
    """The category holding most of the fault's failing tests (else the largest)."""
    if not categories:
        return None
    return max(categories, key=lambda c: (len(failing & set(c.category.tests)), len(c.category.tests)))


def _rank(row: RealRow, case: RealCase, locations: list[Location]) -> None:
    row.ranked = [f"{loc.file}:{loc.function}" for loc in locations]
    files = list(dict.fromkeys(loc.file for loc in locations))
    row.file_rank = files.index(case.file) + 1 if case.file in files else None
    for number, loc in enumerate(locations, start=1):
        if loc.file == case.file and function_matches(loc.function, case.function):
            row.function_rank = number
            break


def function_matches(found: str, expected: str) -> bool:
    """``Class.method`` matches ``Class.method`` and ``method``; a bare name matches its own last part."""
    if not found:
        return False
    return found == expected or found.split(".")[-1] == expected.split(".")[-1]


def plain_pytest_seconds(repo: Path, targets: list[str], settings: Settings, *, cap: float) -> float | None:
    """Wall time of plain ``python -m pytest -q <targets>`` in the project's venv; None when killed at ``cap``."""
    python = settings.tests.interpreter or "python"
    env = {**os.environ, **settings.target.env}
    env.pop("PYTEST_ADDOPTS", None)
    command = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *targets]
    began = time.monotonic()
    try:
        subprocess.run(
            command, cwd=repo, env=env, capture_output=True, timeout=cap, check=False, start_new_session=True
        )
    except subprocess.TimeoutExpired:
        return None
    return round(time.monotonic() - began, 1)
