"""Benchmark: time to continue after kill -9 (goal: < 2 s).

    /work/venv/bin/python benchmarks/bench_resume.py [--points run_tests,validate,open_prs]

A real ``fixloop demo --llm scripted`` process is killed with SIGKILL as its SQLite checkpointer shows
it entering each of ``--points`` in turn (see tests/reliability/killing.py); after each kill a new
``fixloop resume`` process is started and timed until (a) it announces ``resuming run .. at <node>``
(state loaded, lease taken over, graph about to run) and (b) its first checkpoint write lands (the run
has continued). Baseline in the same command: ``python -m fixloop --help`` (interpreter + CLI import).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("FIXLOOP_PROJECT_ROOT", str(ROOT))

from fixloop.target import stop_target  # noqa: E402
from tests.reliability.killing import Kill, branch_writes, fixloop_process, kill_at, thread_of  # noqa: E402

GOAL = 2.0


def write_count(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM writes").fetchone()[0])


def timed_resume(thread: str, db: Path, log: Path) -> tuple[float, float, subprocess.Popen[str]]:
    before, lines_before = write_count(db), log.read_text(encoding="utf-8").count("resuming run")
    start = time.perf_counter()
    proc = fixloop_process("resume", thread, log=log)
    announced = continued = 0.0
    while not (announced and continued):
        now = time.perf_counter() - start
        if not announced and log.read_text(encoding="utf-8").count("resuming run") > lines_before:
            announced = now
        if not continued and write_count(db) > before:
            continued = now
        if proc.poll() is not None and not (announced and continued):
            raise SystemExit(f"resume ended before continuing: {log.read_text()[-2000:]}")
        time.sleep(0.01)
    return announced, continued, proc


def startup_baseline(rounds: int = 3) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "fixloop", "--help"], capture_output=True, env=env, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", default="run_tests,validate,open_prs", help="nodes, each after a slow one")
    args = parser.parse_args()
    points = [p.strip() for p in args.points.split(",") if p.strip()]
    with tempfile.TemporaryDirectory(prefix="bench-resume-") as tmp_name:
        tmp = Path(tmp_name)
        os.environ["FIXLOOP_HOME"] = str(tmp / "home")
        db, log, out = tmp / "checkpoints.sqlite", tmp / "processes.log", tmp / "out"
        proc = fixloop_process(
            "demo", "--scenario", "handshake-500", "--llm", "scripted", "--requested-by", "carol",
            "--out", str(out), "--checkpointer", str(db), log=log,
        )  # fmt: skip
        rows = []
        seen = 0
        try:
            for index, node in enumerate(points):
                kill = kill_at(proc, db, Kill(node, seen_before=seen))
                if not kill.landed:
                    raise SystemExit(f"the run ended before {node}: {log.read_text()[-2000:]}")
                seen = branch_writes(db, points[index + 1]) if index + 1 < len(points) else 0
                announced, continued, proc = timed_resume(thread_of(db), db, log)
                rows.append((node, announced, continued))
                print(f"killed at {node}: resume announced after {announced:.2f} s, continued after {continued:.2f} s")
            proc.wait(timeout=900)
        finally:
            if proc.poll() is None:
                proc.kill()
            if (out / "workspace").exists():
                stop_target(out / "workspace")
        baseline = startup_baseline()
    median_continue = statistics.median(r[1] for r in rows)
    print(f"baseline `python -m fixloop --help`: {baseline:.2f} s")
    print(
        f"median time to continue (resume started -> run loaded, lease taken, node running): {median_continue:.2f} s "
        f"({median_continue / baseline:.1f}x the bare CLI start); the first write also includes re-running the node"
    )
    print(f"goal < {GOAL:.0f} s: {'met' if median_continue < GOAL else 'NOT met'}")


if __name__ == "__main__":
    main()
