"""What a coverage spectrum costs, per real-project case: recorded during the test run vs a re-run.

For each case folder of a real eval work dir (``fixloop eval --suite real --stage triage --work-dir DIR``:
``DIR/<case>/repo`` and ``DIR/<case>/run1/results.json``), alternating rounds of

- ``plain``: the case's selected tests as fixloop runs them (``run_tests``), no coverage;
- ``during``: the same run recording per-test coverage (``tests.spectrum_during_run``): its extra wall time
  over ``plain`` is what the spectrum costs this way;
- ``rerun``: the spectrum's re-run under coverage.py of the categories' failing tests and the sampled
  passing tests of their files (``measure_coverage`` with ``spectrum_during_run`` off);
- ``rerun-plain``: the same re-run's tests without coverage: the pytest start-up floor of any re-run;

and the tests' own time (their recorded durations, pytest's ``call`` + setup + teardown). Medians over the
rounds. Ratios are against the tests' own time, the goal of issue #14 being a cost <= 1x that.

    python benchmarks/bench_spectrum_cost.py DIR [--case NAME ...] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

from fixloop.agents.triage import categorize
from fixloop.config import Settings, load_settings
from fixloop.records import Category, TestRun
from fixloop.tools.run_tests import run_tests
from fixloop.tools.spectrum import CoverageRun, measure_coverage, spectrum_tests, wants_spectrum


def _settings(repo: Path, *, during_run: bool) -> Settings:
    settings = load_settings(repo)
    settings.tests.spectrum_during_run = during_run
    return settings


def _cpu() -> float:
    """CPU seconds of this process and its finished children (pytest runs in a child)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class _Clock:
    """Wall and CPU seconds of a block (CPU: less sensitive to the other jobs of a shared machine)."""

    def __enter__(self) -> _Clock:
        self.wall, self.cpu = time.monotonic(), _cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.monotonic() - self.wall, _cpu() - self.cpu


def _timed_run(repo: Path, targets: list[str], settings: Settings) -> tuple[_Clock, TestRun]:
    with _Clock() as clock:
        run = run_tests(repo, targets, settings, env={}, out_dir=Path(tempfile.mkdtemp(prefix="bench-spectrum-")))
    return clock, run


def _timed_spectra(
    categories: list[Category], run: TestRun, repo: Path, settings: Settings
) -> tuple[_Clock, CoverageRun]:
    """Every category's spectrum from ``run`` (recorded coverage, else a re-run under coverage.py), timed."""
    with _Clock() as clock:
        coverage = measure_coverage(categories, run, repo=repo, settings=settings)
        for category in categories:
            coverage.spectrum(category)
    return clock, coverage


def measure_case(folder: Path, rounds: int) -> dict[str, object]:
    repo = folder / "repo"
    original = TestRun.model_validate(json.loads((folder / "run1" / "results.json").read_text())["run"])
    targets = list(original.selected)
    plain_settings, during_settings = _settings(repo, during_run=False), _settings(repo, during_run=True)
    names = ("plain", "during", "rerun", "rerun-plain", "rank-during")
    walls: dict[str, list[float]] = {name: [] for name in names}
    cpus: dict[str, list[float]] = {name: [] for name in names}
    row: dict[str, object] = {"case": folder.name, "selected": len(targets)}

    def record(name: str, clock: _Clock) -> None:
        walls[name].append(clock.wall)
        cpus[name].append(clock.cpu)

    for _ in range(rounds):
        clock, plain = _timed_run(repo, targets, plain_settings)
        record("plain", clock)
        clock, during = _timed_run(repo, targets, during_settings)
        record("during", clock)
        categories = [c for c in categorize(plain, [], repo=repo) if wants_spectrum(c, plain, plain_settings)]
        if not categories:
            row["note"] = "no category a spectrum helps"
            break
        failing, passing = spectrum_tests(categories, plain, plain_settings)
        record("rerun", _timed_spectra(categories, plain, repo, plain_settings)[0])
        record("rerun-plain", _timed_run(repo, [*failing, *passing], plain_settings)[0])
        clock, recorded = _timed_spectra(categories, during, repo, during_settings)
        record("rank-during", clock)
        durations = {r.nodeid: r.duration for r in plain.results}
        row["rerun_tests"] = len(failing) + len(passing)
        row["rerun_tests_own"] = sum(durations.get(t, 0.0) for t in [*failing, *passing])
        row["run_tests_own"] = sum(r.duration for r in plain.results)
        row["during_recorded"] = recorded.during_run
    for name in names:
        if walls[name]:
            row[name] = statistics.median(walls[name])
            row[name + "_cpu"] = statistics.median(cpus[name])
    if "rerun" in row:
        own = float(row["rerun_tests_own"])  # type: ignore[arg-type]
        for suffix in ("", "_cpu"):
            plain_s, during_s = float(row["plain" + suffix]), float(row["during" + suffix])  # type: ignore[arg-type]
            extra = max(0.0, during_s - plain_s) + float(row["rank-during" + suffix])  # type: ignore[arg-type]
            row["during_extra" + suffix] = extra
            row["rerun_ratio" + suffix] = float(row["rerun" + suffix]) / own if own else None  # type: ignore[arg-type]
            row["during_ratio" + suffix] = extra / own if own else None
            row["during_vs_run" + suffix] = extra / plain_s
    return row


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("work_dir", type=Path)
    parser.add_argument("--case", action="append", default=[])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    folders = sorted(p for p in args.work_dir.iterdir() if (p / "run1" / "results.json").exists())
    if args.case:
        folders = [p for p in folders if any(c in p.name for c in args.case)]
    rows = [measure_case(folder, args.rounds) for folder in folders]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    columns = [
        ("case", "case"), ("selected", "run's tests"), ("run_tests_own", "their own s"), ("plain", "run s"),
        ("during", "run + coverage s"), ("during_extra", "extra s (+ ranking)"), ("during_vs_run", "extra / run"),
        ("rerun_tests", "re-run tests"), ("rerun_tests_own", "their own s"), ("rerun", "re-run s"),
        ("rerun-plain", "same w/o coverage s"), ("rerun_ratio", "re-run / own"), ("during_ratio", "extra / own"),
        ("during_extra_cpu", "extra CPU s"), ("during_vs_run_cpu", "extra / run CPU"), ("rerun_cpu", "re-run CPU s"),
        ("rerun_ratio_cpu", "re-run / own CPU"), ("during_ratio_cpu", "extra / own CPU"),
    ]  # fmt: skip
    print("| " + " | ".join(title for _, title in columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(_fmt(row.get(key)) for key, _ in columns) + " |")


if __name__ == "__main__":
    main()
