"""Benchmark: what keeping a test run's raw output owner-only costs (issue #17 gap, session 5).

Usage: python benchmarks/bench_private_output.py [--n 2000]

``start_pytest`` now makes the folder pytest writes into 0700 and opens the console output 0600
(``private_folder``/``private_file``); the reporting plugin opens its JSON-lines file 0600. The baseline is
what it did before, in the same command: ``mkdir(exist_ok)`` and ``open("wb")``. Printed: microseconds per
test run for each, the difference, and that difference against a real pytest start of a one-test suite
(the smallest test phase there is), measured here too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from fixloop.config import Settings  # noqa: E402
from fixloop.tools.pytest_process import private_file, private_folder, start_pytest  # noqa: E402


def _before(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pytest-output.txt").open("wb").close()


def _after(folder: Path) -> None:
    private_folder(folder)
    os.close(private_file(folder / "pytest-output.txt"))


def _per_call(step: object, base: Path, n: int) -> float:
    assert callable(step)
    folders = [base / f"f{i}" for i in range(n)]
    start = time.perf_counter()
    for folder in folders:
        step(folder)
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rounds_before, rounds_after = [], []
        for r in range(5):  # alternate, so machine load hits both alike
            rounds_before.append(_per_call(_before, root / f"b{r}", args.n))
            rounds_after.append(_per_call(_after, root / f"a{r}", args.n))
        before, after = statistics.median(rounds_before), statistics.median(rounds_after)
        repo = root / "repo"
        (repo / "tests").mkdir(parents=True)
        (repo / "tests" / "test_one.py").write_text("def test_one():\n    assert True\n")
        walls = []
        for r in range(3):
            start = time.perf_counter()
            started = start_pytest(repo, ["tests"], Settings(), out_dir=root / f"out{r}")
            assert started.wait() == 0
            walls.append(time.perf_counter() - start)
        wall = statistics.median(walls)
    print(f"mkdir + open (before):             {before:8.1f} us per test run")
    print(f"private folder + 0600 file (now):  {after:8.1f} us per test run")
    print(f"difference:                        {after - before:+8.1f} us")
    print(f"smallest test phase (1 test):      {wall * 1e3:8.1f} ms")
    print(f"difference / smallest test phase:  {(after - before) / (wall * 1e6):+.6f} (ratio {after / before:.2f})")


if __name__ == "__main__":
    main()
