"""Benchmark: categorize 10,000 synthetic failures (goal: under 1 s).

    /work/venv/bin/python benchmarks/bench_categorize.py [--failures 10000]

The failures are realistic pytest longreprs (handshake 500, close 1011, 403, close 1008,
out-of-order events, timeouts, connection refused, missing env, test bugs) with randomized
numbers, ids, ports and test names, so that the signatures really have to be computed.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from fixloop.agents.triage import _coarse, categorize  # noqa: E402
from fixloop.records import TestResult, TestRun  # noqa: E402
from fixloop.redaction import Redactor  # noqa: E402
from fixloop.tools.signatures import normalize_message  # noqa: E402
from tests.agents import failure_samples as samples  # noqa: E402

REPORTS = [
    samples.HANDSHAKE_500,
    samples.CONCURRENT_500,
    samples.CLOSE_1011,
    samples.AUTH_403,
    samples.CLOSE_1008,
    samples.OUT_OF_ORDER,
    samples.HANG_TIMEOUT,
    samples.PYTEST_TIMEOUT_SETUP,
    samples.REFUSED,
    samples.MISSING_ENV,
    samples.WRONG_PATH_404,
    samples.SCHEMA_KEYERROR,
    samples.TEST_BUG,
]


def synthetic_run(count: int, seed: int = 1) -> TestRun:
    rng = random.Random(seed)
    t0 = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
    results = []
    for n in range(count):
        report = rng.choice(REPORTS)
        report = report.replace(":41:", f":{rng.randint(10, 400)}:").replace("60.0s", f"{rng.randint(5, 120)}.0s")
        # Vary the exception message itself too, so that nothing can be looked up instead of computed.
        report = report.replace("Connection refused", f"Connect call failed ('127.0.0.1', {rng.randint(1024, 65535)})")
        report = report.replace("handler crashed", f"handler {rng.getrandbits(32):08x} crashed")
        report = report.replace(
            "E   TimeoutError", f"E   TimeoutError: no agent_completed within {rng.randint(1, 60)} s"
        )
        report += f"\nE   (request {rng.getrandbits(64):016x} at port {rng.randint(1024, 65535)})\n"
        start = t0 + timedelta(seconds=n * 0.05)
        results.append(
            TestResult(
                nodeid=f"tests/e2e/test_mod_{n % 97}.py::test_case_{n}",
                outcome="failed",
                longrepr=report,
                started_at=start,
                finished_at=start + timedelta(seconds=0.04),
            )
        )
    return TestRun(
        command=["pytest"],
        interpreter="python",
        cwd="/tmp/x",
        started_at=t0,
        finished_at=t0,
        exit_code=1,
        results=results,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--failures", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    run = synthetic_run(args.failures)
    redactor = Redactor(env={})
    best = best_cpu = float("inf")
    categories = []
    for _ in range(args.repeat):
        normalize_message.cache_clear()
        _coarse.cache_clear()
        started, started_cpu = time.perf_counter(), time.process_time()
        categories = categorize(run, [], redactor=redactor)
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - started_cpu)
    kinds: dict[str, int] = {}
    for category in categories:
        kinds[category.kind] = kinds.get(category.kind, 0) + len(category.tests)
    print(
        f"categorized {args.failures} failures into {len(categories)} categories in {best:.3f} s wall, "
        f"{best_cpu:.3f} s CPU (best of {args.repeat}; the caches are cleared before each repeat)"
    )
    load = os.getloadavg()[0]
    print(
        f"per failure: {best / args.failures * 1e6:.1f} us wall, {best_cpu / args.failures * 1e6:.1f} us CPU; "
        f"goal < 1 s: {'met' if best < 1.0 else 'not met'} on wall time, "
        f"{'met' if best_cpu < 1.0 else 'not met'} on CPU time "
        f"(machine load average {load:.1f} on {os.cpu_count()} cores)"
    )
    print("tests per kind:", ", ".join(f"{k}={v}" for k, v in sorted(kinds.items())))


if __name__ == "__main__":
    main()
