"""Benchmark: runs to green with 1, 2 and 4 ``fixloop worker`` processes, and the time from a worker's
death to its run continuing on another.

    python benchmarks/bench_workers.py [--runs 8] [--workers 1,2,4] [--latency 2.0] [--quick]

Throughput: ``--runs`` scripted demo runs (handshake-500, the labelled scripted model with every reply
delayed ``--latency`` seconds: ``FIXLOOP_SCRIPTED_LATENCY``, so that waiting dominates) are prepared and
queued (workspace copied, target started, start job queued) with no worker running; then N workers
(``--concurrency 1`` each) are started and the clock runs until every run is green. Each run stops at its
approval; the benchmark queues the approval (by ``alice``) as soon as a run waits for it. Each N gets a
fresh PostgreSQL schema. The figure is the throughput ratio against 1 worker in the same command.

Failover: 2 workers, one run; the worker that took it is SIGKILLed once its first step is reported
(run.json); timed until the other worker takes the job, and until that worker's first new checkpoint.
Heartbeat 0.5 s, a worker silent 3 s is dead (``tests/queue/workers.py``); the floor is about 3 s.

``--quick``: 4 runs, 1 and 2 workers, latency 1 s.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("FIXLOOP_PROJECT_ROOT", str(ROOT))

import psycopg  # noqa: E402

from fixloop.queue.client import RunQueue  # noqa: E402
from fixloop.target import stop_target  # noqa: E402
from tests.conftest import cli_env, pg_schema  # noqa: E402
from tests.queue.workers import queued_job, run_status, took, wait_until, workers  # noqa: E402

ENDED = ("green", "gave_up", "error", "diagnosed")


def queue_demo(url: str, out: Path, env: dict[str, str]) -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-m", "fixloop", "demo", "--scenario", "handshake-500", "--llm", "scripted",
         "--requested-by", "carol", "--out", str(out), "--checkpointer", url],
        capture_output=True, text=True, env=cli_env(env), timeout=300,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"queueing a demo failed: {done.stderr[-2000:]}")
    return queued_job(done.stdout)


def checkpoints(url: str, thread: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT COUNT(*) FROM checkpoints WHERE thread_id = %s", (thread,)).fetchone()
    return int(row[0]) if row else 0


def throughput(count: int, runs: int, latency: float, folder: Path) -> tuple[float, list[str]]:
    """Seconds from starting ``count`` workers until ``runs`` queued demo runs have ended; their statuses."""
    env = {"FIXLOOP_HOME": str(folder / "home"), "FIXLOOP_SCRIPTED_LATENCY": str(latency)}
    os.environ.update(env)
    outs = [folder / f"run-{i}" for i in range(runs)]
    try:
        with pg_schema("fixloop_bench") as url:
            threads = [queue_demo(url, out, env)[0] for out in outs]
            approved: set[str] = set()
            with RunQueue(url) as queue, workers(url, folder, count, env=env) as pool:
                started = time.monotonic()
                logs = [log for _, log in pool]

                def all_ended() -> bool:
                    statuses = {t: run_status(url, t) for t in threads}
                    for thread, status in statuses.items():
                        if status == "awaiting_approval" and thread not in approved:
                            queue.decide(thread, decision="approve", by="alice", source="cli")
                            approved.add(thread)
                    return all(s in ENDED for s in statuses.values())

                wait_until(all_ended, timeout=3600, what=f"{runs} runs with {count} workers", every=0.5, logs=logs)
                elapsed = time.monotonic() - started
            return elapsed, [str(run_status(url, t)) for t in threads]
    finally:
        for out in outs:
            if (out / "workspace").exists():
                stop_target(out / "workspace")


def failover(latency: float, folder: Path) -> tuple[float, float]:
    """(seconds to the other worker taking the job, seconds to its first new checkpoint) after a SIGKILL."""
    env = {"FIXLOOP_HOME": str(folder / "home"), "FIXLOOP_SCRIPTED_LATENCY": str(latency)}
    os.environ.update(env)
    out = folder / "run"
    try:
        with pg_schema("fixloop_bench") as url:
            thread, job = queue_demo(url, out, env)
            with workers(url, folder, 2, env=env) as pool:
                logs = [log for _, log in pool]
                first = wait_until(lambda: [i for i, log in enumerate(logs) if took(log, job)], timeout=300,
                                   what="a worker to take the run", logs=logs)[0]  # fmt: skip
                wait_until(lambda: (out / "run.json").exists(), timeout=300, what="the first step", logs=logs)
                saved = checkpoints(url, thread)
                killed_at = time.monotonic()
                pool[first][0].send_signal(signal.SIGKILL)
                pool[first][0].wait(timeout=30)
                other = logs[1 - first]
                wait_until(lambda: took(other, job), timeout=300, what="the other worker", every=0.02, logs=logs)
                taken = time.monotonic() - killed_at
                wait_until(lambda: checkpoints(url, thread) > saved, timeout=300, what="a new checkpoint",
                           every=0.02, logs=logs)  # fmt: skip
                continued = time.monotonic() - killed_at
                wait_until(lambda: run_status(url, thread) in (*ENDED, "awaiting_approval"), timeout=600,
                           what="the run to stop", every=0.5, logs=logs)  # fmt: skip
            return taken, continued
    finally:
        if (out / "workspace").exists():
            stop_target(out / "workspace")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-failover", action="store_true")
    parser.add_argument("--failover-only", action="store_true")
    args = parser.parse_args()
    runs, counts, latency = args.runs, [int(n) for n in args.workers.split(",")], args.latency
    if args.quick:
        runs, counts, latency = 4, [1, 2], 1.0
    print(f"load average at start: {os.getloadavg()[0]:.2f}; {runs} runs, scripted latency {latency:g} s")
    results: dict[int, float] = {}
    for count in [] if args.failover_only else counts:
        with tempfile.TemporaryDirectory(prefix="fixloop-bench-workers-") as tmp:
            elapsed, statuses = throughput(count, runs, latency, Path(tmp))
        results[count] = elapsed
        print(f"{count} worker(s): {elapsed:.1f} s for {runs} runs ({runs / elapsed * 60:.2f} runs/min);"
              f" statuses {sorted(statuses)}; load {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    base = results.get(1)
    if base:
        for count, elapsed in results.items():
            print(f"throughput x{base / elapsed:.2f} with {count} worker(s) vs 1 (ideal x{count})")
    if not args.no_failover:
        with tempfile.TemporaryDirectory(prefix="fixloop-bench-failover-") as tmp:
            taken, continued = failover(latency, Path(tmp))
        print(f"failover: job taken by the other worker {taken:.2f} s after the SIGKILL; its first new checkpoint"
              f" {continued:.2f} s after it; load {os.getloadavg()[0]:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
