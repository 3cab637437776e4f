"""Coverage spectra: which functions the failing tests run and the passing tests of their files do not.

The lines each test ran come from coverage.py with one dynamic context per test
(``pytest_plugin/fixloop_coverage.py``), either

- recorded during the test run itself (``tests.spectrum_during_run``, by default on a library target: the
  plugin rides along every run,
  ``--fixloop-coverage=<out>/fixloop-spectrum.coverage`` in its command): no re-run, the outcomes are
  the run's; or, when the run holds no such data,
- a re-run of the category's failing tests and the passing tests of the same files (bounded by
  ``tests.spectrum_max_tests`` and, from recorded durations, ``tests.spectrum_max_seconds``): the
  outcomes are the re-run's, so a test that passes on re-run counts as passing.

Each line gets the Ochiai score ``ef / sqrt(F * (ef + ep))`` (``ef``/``ep``: failing/passing tests that
ran it, ``F``: all failing tests); a function scores as its best line.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from fixloop.config import Settings
from fixloop.errors import FixloopError
from fixloop.records import Category, TestResult, TestRun
from fixloop.tools.code_search import enclosing_function
from fixloop.tools.pytest_process import COVERAGE_DATA_OPTION, module_available, pytest_argv
from fixloop.tools.realness import is_networked
from fixloop.tools.run_tests import run_tests

FAILED = ("failed", "error")
# The kinds a spectrum can help: not infrastructure, hangs (each re-run costs a timeout) or flakiness.
SPECTRUM_KINDS = frozenset({"protocol", "server-error", "auth", "test-defect"})


class FunctionSpectrum(BaseModel):
    """One function's spectrum: the failing and passing tests that ran its best line, and its score."""

    file: str
    function: str
    line: int
    failed: int
    passed: int
    score: float


class Spectrum(BaseModel):
    """The ranked functions of one category's coverage re-run, and what it cost."""

    total_failed: int = 0
    total_passed: int = 0
    functions: list[FunctionSpectrum] = Field(default_factory=list)
    seconds: float = 0.0  # wall time of the coverage re-run (shared by the run's categories)
    tests_seconds: float = 0.0  # the re-run tests' recorded durations in the original run
    during_run: bool = False  # recorded by the test run itself: no re-run
    note: str = ""

    def reason(self, item: FunctionSpectrum) -> str:
        return (
            f"executed by {item.failed}/{self.total_failed} failing and {item.passed}/{self.total_passed} "
            f"passing tests (Ochiai {item.score:.2f})"
        )


def spectrum_tests(categories: list[Category], run: TestRun, settings: Settings) -> tuple[list[str], list[str]]:
    """The failing tests of ``categories`` and the passing tests of their files that fit the bounds, fastest first."""
    wanted = {t for c in categories for t in c.tests}
    failing = [r for r in run.results if r.nodeid in wanted and r.outcome in FAILED]
    files = {r.nodeid.split("::", 1)[0] for r in failing}
    passing = sorted(
        (r for r in run.results if r.outcome == "passed" and r.nodeid.split("::", 1)[0] in files),
        key=lambda r: (r.duration, r.nodeid),
    )
    room = max(0, settings.tests.spectrum_max_tests - len(failing))
    budget = settings.tests.spectrum_max_seconds - sum(r.duration for r in failing)
    chosen: list[str] = []
    for result in passing:
        if len(chosen) >= room or result.duration > budget:
            break
        chosen.append(result.nodeid)
        budget -= result.duration
    return [r.nodeid for r in failing][: settings.tests.spectrum_max_tests], chosen


@dataclass
class CoverageRun:
    """Per-test coverage of the categories' failing tests and the passing tests of their files: recorded during
    the test run (``during_run``) or by one re-run under coverage.py."""

    repo: Path
    data_files: list[Path] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0  # wall time of the re-run (0 when the run recorded it)
    tests_seconds: float = 0.0
    note: str = ""
    during_run: bool = False

    def spectrum(self, category: Category) -> Spectrum:
        """``category``'s spectrum: its tests that failed (again) against the passing tests of the same files."""
        failed = {t for t in category.tests if self.outcomes.get(t) in FAILED}
        files = {t.split("::", 1)[0] for t in failed}
        passed = {t for t, outcome in self.outcomes.items() if outcome == "passed" and t.split("::", 1)[0] in files}
        spectrum = Spectrum(
            total_failed=len(failed),
            total_passed=len(passed),
            seconds=self.seconds,
            tests_seconds=self.tests_seconds,
            during_run=self.during_run,
        )
        if not any(f.exists() for f in self.data_files):
            spectrum.note = self.note or "the coverage re-run wrote no data"
        elif not failed:
            spectrum.note = "no test of the category failed in the coverage re-run"
        else:
            spectrum.functions = rank_functions(self.repo, self.data_files, failed, passed)
        return spectrum


def run_data_files(run: TestRun) -> list[Path]:
    """The coverage data the run's own pytest processes wrote (``--fixloop-coverage=<file>`` in its command):
    the file, its xdist workers' ``<file>.<worker>`` and its later rounds' ``round-N/<file>``."""
    named = next((a.split("=", 1)[1] for a in run.command if a.startswith(COVERAGE_DATA_OPTION + "=")), "")
    if not named:
        return []
    first = Path(named)
    found = [*first.parent.glob(first.name + "*"), *first.parent.glob(f"round-*/{first.name}*")]
    return sorted(f for f in found if f.is_file() and not f.name.endswith("-journal"))


def recorded_coverage(categories: list[Category], run: TestRun, repo: Path) -> CoverageRun | None:
    """The per-test coverage ``run`` recorded itself, when it holds some of the categories' failing tests."""
    files = run_data_files(run)
    if not files:
        return None
    measured = measured_tests(files)
    wanted = {t for c in categories for t in c.tests}
    outcomes: dict[str, str] = {r.nodeid: r.outcome for r in run.results if r.nodeid in measured}
    if not any(outcomes.get(t) in FAILED for t in wanted):
        return None  # the tests that failed ran in no measured process (a hang or a crash ended it first)
    return CoverageRun(repo, files, outcomes=outcomes, during_run=True)


def measured_tests(data_files: list[Path]) -> set[str]:
    """The tests (contexts) the data files hold lines of; none when a file cannot be read."""
    from coverage import CoverageData
    from coverage.exceptions import CoverageException

    found: set[str] = set()
    for path in data_files:
        try:
            data = CoverageData(basename=str(path))
            data.read()
            found |= data.measured_contexts()
        except (CoverageException, OSError):
            continue
    found.discard("")
    return found


def measure_coverage(
    categories: list[Category],
    run: TestRun,
    *,
    repo: Path,
    settings: Settings,
    env: dict[str, str] | None = None,
) -> CoverageRun:
    """Per-test coverage for the categories: what the run recorded, else one re-run under coverage.py of their
    failing tests and sampled passing tests, one context per test."""
    repo = repo.resolve()
    recorded = recorded_coverage(categories, run, repo)
    if recorded is not None:
        return recorded
    failing, passing = spectrum_tests(categories, run, settings)
    if not failing:
        return CoverageRun(repo, note="no failing test to measure")
    _, interpreter = pytest_argv(repo, settings)
    target_env = {**os.environ, **settings.target.env, **(env or {})}
    if not module_available(interpreter, "coverage", target_env, must_import=True):
        return CoverageRun(repo, note=f"coverage.py is not installed for {interpreter}: no coverage spectrum")
    durations = {r.nodeid: r.duration for r in run.results}
    out = Path(tempfile.mkdtemp(prefix="fixloop-spectrum-"))
    # the run records per-test coverage as any run does with ``spectrum_during_run`` (each round its own file)
    recording = settings.model_copy(
        update={"tests": settings.tests.model_copy(update={"spectrum": True, "spectrum_during_run": True})}
    )
    started = time.monotonic()
    try:
        rerun = run_tests(
            repo,
            [*failing, *passing],
            recording,
            env=env,
            out_dir=out,
            workers=-1,  # never xdist: one process writes the data file, one context per test
            run_timeout=settings.tests.spectrum_max_seconds * 2 + 30,
        )
    except FixloopError as exc:
        return CoverageRun(repo, note=f"coverage re-run failed: {exc.one_line()}")
    return CoverageRun(
        repo,
        run_data_files(rerun),
        outcomes={r.nodeid: r.outcome for r in rerun.results},
        seconds=round(time.monotonic() - started, 2),
        tests_seconds=round(sum(durations.get(t, 0.0) for t in [*failing, *passing]), 2),
    )


# pytest's assertion message calls these on a failure only: every failing test "runs" them.
REPORTING_ONLY = frozenset({"__repr__", "__str__", "__format__", "__rich_repr__"})


def line_contexts(repo: Path, data_files: list[Path]) -> dict[str, dict[int, set[str]]]:
    """Per repo file (relative) and line, the tests (contexts) that ran it, over every data file."""
    from coverage import CoverageData  # the measurement library; imported only when a spectrum is taken
    from coverage.exceptions import CoverageException

    root = str(repo.resolve()) + "/"
    lines: dict[str, dict[int, set[str]]] = {}
    for path in data_files:
        data = CoverageData(basename=str(path))
        try:
            data.read()
            measured_files = data.measured_files()
        except (CoverageException, OSError):
            continue
        for measured in measured_files:
            if measured.startswith(root):
                per_line = lines.setdefault(measured[len(root) :], {})
                for line, contexts in (data.contexts_by_lineno(measured) or {}).items():
                    per_line.setdefault(line, set()).update(contexts)
    return lines


def rank_functions(repo: Path, data_files: list[Path], failed: set[str], passed: set[str]) -> list[FunctionSpectrum]:
    """Functions of ``repo`` by Ochiai score of their best line, best first (only lines a failing test ran)."""
    best: dict[tuple[str, str], FunctionSpectrum] = {}
    total_failed = len(failed)
    for rel, per_line in line_contexts(repo, data_files).items():
        for line, tests in per_line.items():
            ef, ep = len(tests & failed), len(tests & passed)
            if not ef:
                continue
            function = enclosing_function(repo / rel, line)
            if not function or function.rsplit(".", 1)[-1] in REPORTING_ONLY:
                continue  # module-level lines run at import, by whichever test imported first
            score = ef / math.sqrt(total_failed * (ef + ep))
            key = (rel, function)
            if key not in best or (score, -line) > (best[key].score, -best[key].line):
                best[key] = FunctionSpectrum(
                    file=rel, function=function, line=line, failed=ef, passed=ep, score=round(score, 3)
                )
    return sorted(best.values(), key=lambda f: (-f.score, f.passed, f.file, f.line))


def wants_spectrum(category: Category, run: TestRun, settings: Settings) -> bool:
    """A spectrum can help ``category``: spectra are on, its kind is a code fault's (not infrastructure, a hang,
    findings only), and some failing test runs the code under test in its own process (not an e2e test of a
    server elsewhere, where coverage of the test process would measure only the client)."""
    if not settings.tests.spectrum or category.kind not in SPECTRUM_KINDS:
        return False
    results: dict[str, TestResult] = {r.nodeid: r for r in run.results}
    return any(t in results and not is_networked(results[t]) for t in category.tests)


def spectra_for(
    categories: list[Category], run: TestRun, *, repo: Path, settings: Settings, env: dict[str, str] | None = None
) -> dict[str, Spectrum]:
    """One coverage re-run for the categories a spectrum can help (``wants_spectrum``); category id -> its
    spectrum. The triage and the loop's investigations both rank with it."""
    measured = [c for c in categories if wants_spectrum(c, run, settings)]
    if not measured:
        return {}
    coverage = measure_coverage(measured, run, repo=repo, settings=settings, env=env)
    return {c.id: coverage.spectrum(c) for c in measured}
