"""The remediation graph's fan-out: one investigation per category, run with max_concurrency 1, then N.

Builds the two-fault workspace of ``tests/graphs/test_fan_out.py`` (jwt-skew + events-out-of-order:
three categories), starts its target, and runs the graph to the diagnosis twice with a scripted model
of fixed per-reply latency: sequentially (``max_concurrency=1``) and in parallel; prints both wall
times of the investigation phase and their ratio, all measured in this command.
Usage: ``python benchmarks/bench_fan_out.py [--latency 1.0] [--parallel 4]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from fixloop.checkpoints import open_store
from fixloop.config import load_settings
from fixloop.context import RunContext
from fixloop.graphs.remediation import build_graph
from fixloop.integrations.llm.scripted import scripted_model
from fixloop.integrations.logs import build_log_source
from fixloop.redaction import Redactor
from fixloop.scenarios import load_scenario, prepare_workspace
from fixloop.state import RunInfo
from fixloop.target import start_target, stop_target


def _workspace(root: Path) -> Path:
    repo = prepare_workspace(root / "ws", load_scenario("jwt-skew"))
    subprocess.run(["git", "apply", str(load_scenario("events-out-of-order").fault_patch)], cwd=repo, check=True)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@fixloop.invalid"]
    subprocess.run([*git, "commit", "-q", "-am", "second fault"], cwd=repo, check=True)
    return repo


def _investigation_seconds(repo: Path, out: Path, thread: str, latency: float, concurrency: int) -> tuple[float, int]:
    settings = load_settings(repo)
    model = scripted_model(settings, load_scenario("jwt-skew"), latency=latency)
    ctx = RunContext(
        settings=settings,
        repo=repo,
        out_dir=out,
        thread_id=thread,
        redactor=Redactor(),
        model=model,
        logs=build_log_source(settings, repo),
    )
    info = RunInfo(thread_id=thread, repo=str(repo), focus="websockets", out_dir=str(out), llm_mode="scripted")
    info = info.model_copy(update={"stop_at": "diagnose", "model_name": model.name})
    config: Any = {"configurable": {"thread_id": thread}, "max_concurrency": concurrency}
    try:
        with open_store() as store:
            state = build_graph(checkpointer=store.saver).invoke({"run": info}, config, context=ctx)
    finally:
        model.close()
    invs = state["investigations"]
    start = min(i.started_at for i in invs)
    end = max(i.finished_at for i in invs if i.finished_at is not None)
    return (end - start).total_seconds(), len(invs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=1.0, help="scripted per-reply latency, seconds")
    parser.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fixloop-bench-") as tmp:
        root = Path(tmp)
        os.environ["FIXLOOP_HOME"] = str(root / "home")
        repo = _workspace(root)
        start_target(repo)
        try:
            seq, n = _investigation_seconds(repo, root / "seq", "bench-seq", args.latency, 1)
            par, _ = _investigation_seconds(repo, root / "par", "bench-par", args.latency, args.parallel)
        finally:
            stop_target(repo)
    print(f"categories investigated: {n}, scripted latency {args.latency:g} s per reply")
    print(f"sequential (max_concurrency=1): {seq:.2f} s")
    print(f"parallel   (max_concurrency={args.parallel}): {par:.2f} s")
    print(f"speed-up: {seq / par:.2f}x")


if __name__ == "__main__":
    main()
