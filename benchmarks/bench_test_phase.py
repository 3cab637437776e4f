"""Benchmark: ``run_tests`` (and ``fixloop test``) wall time vs plain pytest on the same test ids.

Usage: /work/venv/bin/python benchmarks/bench_test_phase.py [--tests 200] [--rounds 3]

The generated suite makes one real loopback TCP round trip per test (an echo server started by this
script) plus a short sleep, like a small e2e suite. Rounds alternate plain pytest, run_tests and the
CLI so machine load hits all of them alike; the medians and ratios are printed (goal: <= 1.05).
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
    with socket.create_connection(("127.0.0.1", int(os.environ["ECHO_PORT"]))) as conn:
        conn.sendall(b"ping")
        assert conn.recv(4) == b"ping"


"""


def echo_server() -> socket.socket:
    server = socket.create_server(("127.0.0.1", 0), backlog=128)

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(4)
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    return server


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (stable under machine load)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def generate(root: Path, tests: int) -> list[str]:
    ids = []
    per_file = 20
    for f in range(0, tests, per_file):
        body = TEST_BODY
        for i in range(f, min(f + per_file, tests)):
            body += f"def test_case_{i}():\n    round_trip()\n    time.sleep(0.01)\n\n\n"
            ids.append(f"tests/e2e/test_bench_{f // per_file}.py::test_case_{i}")
        path = root / "tests" / "e2e" / f"test_bench_{f // per_file}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="fixloop-bench-phase-"))
    server = echo_server()
    try:
        ids = generate(root / "repo", args.tests)
        repo = root / "repo"
        env = {**os.environ, "ECHO_PORT": str(server.getsockname()[1])}
        os.environ["ECHO_PORT"] = env["ECHO_PORT"]
        cli_env = {**env, "PYTHONPATH": str(ROOT / "src"), "FIXLOOP_HOME": str(root / "home")}
        plain, fixloop, cli = [], [], []
        plain_cpu, fixloop_cpu, cli_cpu = [], [], []
        for r in range(args.rounds):
            start, cpu = time.perf_counter(), cpu_seconds()
            proc = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *ids],
                cwd=repo, env=env, capture_output=True, text=True,
            )  # fmt: skip
            plain.append(time.perf_counter() - start)
            plain_cpu.append(cpu_seconds() - cpu)
            assert proc.returncode == 0, proc.stdout[-2000:]
            start, cpu = time.perf_counter(), cpu_seconds()
            run = run_tests(repo, ids, Settings(), out_dir=root / f"out{r}")
            fixloop.append(time.perf_counter() - start)
            fixloop_cpu.append(cpu_seconds() - cpu)
            assert run.counts() == {"passed": args.tests}, run.counts()
            assert all(res.connections for res in run.results)
            start, cpu = time.perf_counter(), cpu_seconds()
            subprocess.run(
                [sys.executable, "-m", "fixloop", "test", "--repo", str(repo), "--out", str(root / f"cli{r}"), *ids],
                env=cli_env, capture_output=True, check=True,
            )  # fmt: skip
            cli.append(time.perf_counter() - start)
            cli_cpu.append(cpu_seconds() - cpu)
        p, f, c = statistics.median(plain), statistics.median(fixloop), statistics.median(cli)
        print(f"{args.tests} tests, {args.rounds} alternating rounds, medians:")
        print(f"plain pytest:        {p:7.2f} s  (rounds: {', '.join(f'{x:.2f}' for x in plain)})")
        print(f"run_tests:           {f:7.2f} s  (rounds: {', '.join(f'{x:.2f}' for x in fixloop)})")
        print(f"fixloop test (CLI):  {c:7.2f} s  (rounds: {', '.join(f'{x:.2f}' for x in cli)})")
        print(f"ratio run_tests / pytest: {f / p:.3f}   ratio fixloop test CLI / pytest: {c / p:.3f}   (goal <= 1.05)")
        print(f"best-of ratios: run_tests {min(fixloop) / min(plain):.3f}, CLI {min(cli) / min(plain):.3f}")
        pc, fc, cc = (statistics.median(x) for x in (plain_cpu, fixloop_cpu, cli_cpu))
        print(f"CPU seconds (user+sys, medians): pytest {pc:.2f}, run_tests {fc:.2f}, CLI {cc:.2f}")
        print(f"CPU ratios: run_tests {fc / pc:.3f}, CLI {cc / pc:.3f}")
    finally:
        server.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
