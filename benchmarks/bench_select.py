"""Benchmark: test selection over a generated suite of 5,000 test files vs ``pytest --collect-only -q``.

Usage: /work/venv/bin/python benchmarks/bench_select.py [--files 5000] [--keep DIR] [--large]

``--large``: the seed-shaped suite of ``benchmarks/large_suite.py`` instead (300 files, 120 mention the
focus, an index naming 3 P1 files, markers on some); it also checks the tier budgets: P1 <= 8 files
holding the index's P1 files, P1-P3 <= 20.

Prints the selection time (in process and as `fixloop select` CLI subprocess), the collect-only
time on the same suite, and their ratios (selection / collect-only; lower is better).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from fixloop.config import Settings  # noqa: E402
from fixloop.tools.select_tests import select_tests  # noqa: E402

sys.path.insert(0, str(ROOT))
from benchmarks.large_suite import INDEX_P1, generate_large_suite  # noqa: E402

SUBJECTS = ["billing", "profile", "search", "upload", "export", "admin", "settings", "reports", "teams", "audit"]
FOLDERS = ["e2e/staging", "e2e/integration", "unit", "api", "services"]


def test_file(subject: str, n_tests: int, rng: random.Random) -> str:
    lines = [f'"""Tests of the {subject} feature."""', "import json", "import pytest", ""]
    if subject == "websocket":
        lines.append('WS_URL = "ws://127.0.0.1:8765/ws"')
        lines.append('EVENTS = ["agent_started", "agent_completed"]')
    lines.append("")
    for i in range(n_tests):
        if rng.random() < 0.3:
            lines.append(f"@pytest.mark.parametrize('value', [1, 2, {i}])")
            lines.append(f"def test_{subject}_case_{i}(value):")
        else:
            lines.append(f"def test_{subject}_case_{i}():")
            lines.append("    value = 1")
        lines.append(f'    """Check {subject} behaviour number {i}."""')
        lines.append(f"    payload = json.dumps({{'subject': '{subject}', 'n': {i}}})")
        lines.append("    assert value and payload")
        lines.append("")
    return "\n".join(lines)


def generate(root: Path, files: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    for i in range(files):
        subject = "websocket" if rng.random() < 0.05 else rng.choice(SUBJECTS)
        folder = root / "tests" / rng.choice(FOLDERS) / f"pkg{i % 50}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"test_{subject}_{i}.py").write_text(test_file(subject, rng.randint(3, 12), rng))


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument("--large", action="store_true", help="the seed-shaped 300-file suite with an index")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="fixloop-bench-select-"))
    try:
        if not (root / "tests").exists():
            generate_large_suite(root) if args.large else generate(root, args.files)
        if args.large:
            args.files = 300
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        selection = None

        def run_select() -> None:
            nonlocal selection
            selection = select_tests(root, "websockets", Settings())

        select_s = timed(run_select)
        cli_argv = [sys.executable, "-m", "fixloop", "select", "--repo", str(root), "--focus", "websockets", "--json"]
        cli_s = timed(lambda: subprocess.run(cli_argv, env=env, capture_output=True, check=True))
        collect = None

        def run_collect() -> None:
            nonlocal collect
            collect = subprocess.run(
                [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests"],
                cwd=root, capture_output=True, text=True,
            )  # fmt: skip

        collect_s = timed(run_collect)
        assert selection is not None and collect is not None
        chosen = sum(len(t.files) for t in selection.tiers)
        collected = collect.stdout.strip().splitlines()[-1] if collect.stdout.strip() else "?"
        print(f"suite: {args.files} test files under {root}")
        print(f"selection (in process):  {select_s:8.2f} s  -> {chosen} files in {len(selection.tiers)} tiers")
        print(f"fixloop select (CLI):    {cli_s:8.2f} s")
        print(f"pytest --collect-only -q:{collect_s:8.2f} s  -> {collected}")
        print(f"ratio selection / collect-only: {select_s / collect_s:.3f} (in process), {cli_s / collect_s:.3f} (CLI)")
        if args.large:
            p1 = [f.path for t in selection.tiers if t.priority == 1 for f in t.files]
            first_three = sum(len(t.files) for t in selection.tiers if t.priority <= 3)
            holds = set(INDEX_P1) <= set(p1)
            print(
                f"P1: {len(p1)} files (goal <= 8), index P1 files all in P1: {holds}; P1-P3: {first_three} (goal <= 20)"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
