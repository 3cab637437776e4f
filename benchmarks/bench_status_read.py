"""Cost of one chat ``status`` answer: the checkpoint read (``runs.run_status``) vs the run's record.

Makes one real run first (``fixloop demo --llm none`` in a temporary FIXLOOP_HOME: the bundled
example, its P1 tests, diagnosed), then answers ``status`` for it ``--calls`` times each way:
the checkpoint read that chat used before issue #16 (open the store, rebuild the graph's state,
redact, add costs) and the read of the run.json its driver wrote (plus the lock probe that tells
an interrupted run). Prints CPU and wall time per answer and their ratio. Stops by itself.

    python benchmarks/bench_status_read.py [--calls 50]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def per_call(fn: Callable[[], Any], calls: int) -> tuple[float, float]:
    fn()  # warm (imports, first open)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.process_time() - cpu) / calls * 1000, (time.perf_counter() - wall) / calls * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["FIXLOOP_HOME"] = home
        out = Path(home) / "out"
        cmd = [sys.executable, "-m", "fixloop", "demo", "--scenario", "handshake-500", "--llm", "none"]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        done = subprocess.run([*cmd, "--out", str(out)], env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"the demo run failed: {done.stderr[-500:]}")
        try:
            thread = json.loads((out / "run.json").read_text(encoding="utf-8"))["thread_id"]
            from fixloop import runs
            from fixloop.run_lock import is_driven
            from fixloop.server.progress import status_text
            from fixloop.server.record_reader import read_run_json

            def from_record() -> str:
                doc = read_run_json(out)
                assert doc is not None
                doc["interrupted"] = not is_driven(thread, None)
                return status_text(doc)

            assert status_text(runs.run_status(thread)).splitlines()[0] == from_record().splitlines()[0]
            old = per_call(lambda: status_text(runs.run_status(thread)), args.calls)
            new = per_call(from_record, args.calls)
        finally:
            from fixloop.target import stop_target

            stop_target(out / "workspace")
    print(f"checkpoint read: cpu {old[0]:.2f} ms, wall {old[1]:.2f} ms per status answer")
    print(f"run.json read:   cpu {new[0]:.2f} ms, wall {new[1]:.2f} ms per status answer")
    print(f"checkpoint/record: cpu x{old[0] / new[0]:.0f}, wall x{old[1] / new[1]:.0f}; load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
