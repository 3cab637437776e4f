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
from fixloop.evaluation.real.cases import build_into, case_fields
from fixloop.evaluation.real.recipes import RealCase, RealProject
from fixloop.records import Location, TestRun
from fixloop.tools.git_history import Commit
from fixloop.tools.localize import localize
from fixloop.tools.run_tests import run_tests
from fixloop.tools.select_tests import select_tests
from fixloop.tools.spectrum import Spectrum
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
    function_rank_no_history: int | None = None
    file_rank_no_coverage: int | None = None  # ranked again without the coverage spectrum
    function_rank_no_coverage: int | None = None
    file_rank_plain: int | None = None  # neither coverage nor git history
    function_rank_plain: int | None = None
    coverage_seconds: float = 0.0  # wall time of the coverage re-run
    coverage_tests_seconds: float = 0.0  # the re-run tests' own durations in the test run
    coverage_note: str = ""
    selected: int = 0  # test targets selected for the focus
    fault_tests: int = 0  # tests the fault makes fail (reproduction run)
    fault_tests_run: int = 0  # of those, how many the focus selection ran
    results: int = 0
    counts: dict[str, int] = Field(default_factory=dict)
    runs: int = 0  # test phases before triage (more than 1 only for a flaky case whose first run passed)
    reruns: int = 0
    triage_seconds: float = 0.0  # test phase + re-runs + triage
    rerun_seconds: float = 0.0
    plain_seconds: float | None = None  # plain pytest of the same selected tests (None: killed at plain_cap)
    plain_cap: float = 0.0  # plain pytest is stopped once it outlasts the triage run: the bound holds then
    bound_seconds: float | None = None
    within_bound: bool = False
    build_seconds: float = 0.0
    error: str = ""


def evaluate_real_case(project: RealProject, case: RealCase, folder: Path, cache: Path) -> RealRow:
    """One case end to end; machinery errors are recorded in the row, never raised."""
    row = RealRow(**case_fields(project, case), expected_kind=case.kind)
    try:
        built = build_into(row, project, case, folder / "repo", cache)
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
    attempts = max(1, settings.limits.stress_runs) if case.flaky else 1
    for attempt in range(1, attempts + 1):  # a flaky report starts from a failure seen, as in the scenario eval
        report = run_test_phase(repo, targets, settings, selection=selection, env={}, out_dir=folder / f"run{attempt}")
        row.runs = attempt
        if failing & {r.nodeid for r in report.run.failures()}:  # the fault showed (not only other failures)
            break
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
    row.fault_tests = len(failing)
    row.fault_tests_run = len(failing & {r.nodeid for r in report.run.results})
    row.found_kinds = sorted({c.category.kind for c in triage.categories})
    main = _main(triage.categories, failing)
    if main is not None:
        row.main_kind = main.category.kind
        row.kind_ok = main.category.kind == case.kind
        row.file_rank, row.function_rank = _ranks(row, case, main.evidence.locations)
        spectrum = triage.spectra.get(main.category.id)
        if spectrum is not None:
            row.coverage_seconds, row.coverage_tests_seconds = spectrum.seconds, spectrum.tests_seconds
            row.coverage_note = spectrum.note
        category, run = main.category, report.run
        variants: dict[
            str, tuple[Spectrum | None, list[Commit] | None]
        ] = {  # (spectrum, commits): None commits = the repo's git history, as in the triage itself
            "no_history": (spectrum, []),
            "no_coverage": (None, None),
            "plain": (None, []),
        }
        for name, (measured, commits) in variants.items():
            ranked = localize(category, run, repo=repo, focus=case.focus, commits=commits, spectrum=measured)
            file_rank, function_rank = _ranks(None, case, ranked)
            setattr(row, f"file_rank_{name}", file_rank)
            setattr(row, f"function_rank_{name}", function_rank)
    row.plain_cap = round(row.triage_seconds + 2 * settings.tests.timeout, 1)
    row.plain_seconds = plain_pytest_seconds(repo, targets, settings, cap=row.plain_cap)
    if row.plain_seconds is not None:
        reruns = row.rerun_seconds + row.coverage_seconds  # the coverage spectrum is a re-run too
        row.bound_seconds = round(row.plain_seconds + 2 * settings.tests.timeout + reruns, 1)
        row.within_bound = row.triage_seconds <= row.bound_seconds
    else:  # plain pytest outlasted the triage run (a hang never ends there): the bound holds
        row.within_bound = True


def _main(categories: list[CategoryReport], failing: set[str]) -> CategoryReport | None:
    """The category holding most of the fault's failing tests (else the largest)."""
    if not categories:
        return None
    return max(categories, key=lambda c: (len(failing & set(c.category.tests)), len(c.category.tests)))


def _ranks(row: RealRow | None, case: RealCase, locations: list[Location]) -> tuple[int | None, int | None]:
    """The 1-based (file rank, function rank) of the case's root cause; ``row`` records the ranking."""
    if row is not None:
        row.ranked = [f"{loc.file}:{loc.function}" for loc in locations]
    files = list(dict.fromkeys(loc.file for loc in locations))
    file_rank = files.index(case.file) + 1 if case.file in files else None
    function_rank = next(
        (
            number
            for number, loc in enumerate(locations, start=1)
            if loc.file == case.file and function_matches(loc.function, case.function)
        ),
        None,
    )
    return file_rank, function_rank


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
