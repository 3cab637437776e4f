"""Benchmark: ``run_tests`` (and ``fixloop test``) wall time vs plain pytest on the same test ids.

Usage: /work/venv/bin/python benchmarks/bench_test_phase.py [--suite small|seed] [--rounds 5]

Two generated suites, each test making real loopback TCP round trips to an echo server this script
starts:
- ``small`` (default): 200 tests, one round trip and a 10 ms sleep each: about 2 s of tests, so pytest's
  own start-up is half the run and every fixed cost of fixloop shows (the worst case for the ratio);
- ``seed``: shaped like the seed worklog's Phase 1 (5 tests in 8.29 s against staging, 0.49 s network
  latency measured there): 5 tests, 3 round trips each, the server answering after 0.49 s.

Rounds alternate plain pytest, run_tests and the CLI so machine load hits all of them alike. Printed:
medians, ratios of medians, and the median of the per-round ratios (each CLI or run_tests round over
the plain round just before it: pairs share the machine's load, so it is the steadier figure). Goal <= 1.05.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from fixloop.config import Settings  # noqa: E402
from fixloop.tools.run_tests import run_tests  # noqa: E402

TEST_BODY = """
import os
import socket
import time


def round_trip():
    with socket.create_connection(("127.0.0.1", int(os.environ["ECHO_PORT"])), timeout=30) as conn:
        conn.sendall(b"ping")
        assert conn.recv(4) == b"ping"


"""


SUITES = {  # name: (tests, round trips per test, sleep per test in s, server latency in s)
    "small": (200, 1, 0.01, 0.0),
    "seed": (5, 3, 0.0, 0.49),
}


def echo_server(latency: float = 0.0) -> socket.socket:
    """A loopback echo server that answers each connection after ``latency`` seconds."""
    server = socket.create_server(("127.0.0.1", 0), backlog=128)

    def answer(conn: socket.socket) -> None:
        with conn:
            data = conn.recv(4)
            if latency:
                time.sleep(latency)
            conn.sendall(data)

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return server


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (stable under machine load)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def generate(root: Path, tests: int, round_trips: int = 1, sleep: float = 0.01) -> list[str]:
    ids = []
    per_file = 20
    calls = "    round_trip()\n" * round_trips + (f"    time.sleep({sleep})\n" if sleep else "")
    for f in range(0, tests, per_file):
        body = TEST_BODY
        for i in range(f, min(f + per_file, tests)):
            body += f"def test_case_{i}():\n{calls}\n\n"
            ids.append(f"tests/e2e/test_bench_{f // per_file}.py::test_case_{i}")
        path = root / "tests" / "e2e" / f"test_bench_{f // per_file}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--suite", choices=sorted(SUITES), default="small")
    parser.add_argument("--tests", type=int, help="override the suite's number of tests")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    tests, round_trips, sleep, latency = SUITES[args.suite]
    tests = args.tests or tests
    root = Path(tempfile.mkdtemp(prefix="fixloop-bench-phase-"))
    server = echo_server(latency)
    try:
        ids = generate(root / "repo", tests, round_trips, sleep)
        repo = root / "repo"
        env = {**os.environ, "ECHO_PORT": str(server.getsockname()[1])}
        os.environ["ECHO_PORT"] = env["ECHO_PORT"]
        cli_env = {**env, "PYTHONPATH": str(ROOT / "src"), "FIXLOOP_HOME": str(root / "home")}
        walls: dict[str, list[float]] = {"plain": [], "run_tests": [], "cli": []}
        cpus: dict[str, list[float]] = {"plain": [], "run_tests": [], "cli": []}
        for r in range(args.rounds):
            start, cpu = time.perf_counter(), cpu_seconds()
            proc = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *ids],
                cwd=repo, env=env, capture_output=True, text=True,
            )  # fmt: skip
            walls["plain"].append(time.perf_counter() - start)
            cpus["plain"].append(cpu_seconds() - cpu)
            assert proc.returncode == 0, proc.stdout[-2000:]
            start, cpu = time.perf_counter(), cpu_seconds()
            run = run_tests(repo, ids, Settings(), out_dir=root / f"out{r}")
            walls["run_tests"].append(time.perf_counter() - start)
            cpus["run_tests"].append(cpu_seconds() - cpu)
            assert run.counts() == {"passed": tests}, run.counts()
            assert all(res.connections for res in run.results)
            start, cpu = time.perf_counter(), cpu_seconds()
            subprocess.run(
                [sys.executable, "-m", "fixloop", "test", "--repo", str(repo), "--out", str(root / f"cli{r}"), *ids],
                env=cli_env, capture_output=True, check=True,
            )  # fmt: skip
            walls["cli"].append(time.perf_counter() - start)
            cpus["cli"].append(cpu_seconds() - cpu)
        report(args.suite, tests, args.rounds, walls, cpus)
    finally:
        server.close()
        shutil.rmtree(root, ignore_errors=True)


def report(suite: str, tests: int, rounds: int, walls: dict[str, list[float]], cpus: dict[str, list[float]]) -> None:
    med = {name: statistics.median(values) for name, values in walls.items()}
    print(f"suite {suite}: {tests} tests, {rounds} alternating rounds, medians:")
    for name, label in (("plain", "plain pytest"), ("run_tests", "run_tests"), ("cli", "fixloop test (CLI)")):
        rounds_text = ", ".join(f"{x:.2f}" for x in walls[name])
        print(f"{label + ':':20s} {med[name]:7.2f} s  (rounds: {rounds_text})")
    paired = {
        name: statistics.median(x / p for x, p in zip(walls[name], walls["plain"], strict=True))
        for name in ("run_tests", "cli")
    }
    print(
        f"ratio of medians:  run_tests {med['run_tests'] / med['plain']:.3f}, CLI {med['cli'] / med['plain']:.3f}"
        "   (goal <= 1.05)"
    )
    print(f"median per-round ratio:  run_tests {paired['run_tests']:.3f}, CLI {paired['cli']:.3f}   (goal <= 1.05)")
    extra = statistics.median(c - p for c, p in zip(walls["cli"], walls["plain"], strict=True))
    print(f"CLI minus plain pytest (median of rounds): {extra:+.2f} s")
    cpu = {name: statistics.median(values) for name, values in cpus.items()}
    print(
        f"CPU seconds (user+sys, medians): pytest {cpu['plain']:.2f}, run_tests {cpu['run_tests']:.2f}, "
        f"CLI {cpu['cli']:.2f}"
    )
    print(f"CPU ratios: run_tests {cpu['run_tests'] / cpu['plain']:.3f}, CLI {cpu['cli'] / cpu['plain']:.3f}")


if __name__ == "__main__":
    main()
