"""Benchmark: N categories investigated in parallel (the graph's ``Send`` fan-out) vs one category, with the
scripted model answering after a fixed per-call latency (goal: wall(N) / wall(1) <= 1.2).

    /work/venv/bin/python benchmarks/bench_fan_out_categories.py [--categories 4] [--latency 1.0] [--rounds 2]

One real run of the handshake-500 scenario (target started, real pytest) gives the state after
``categorize``. Each measurement then starts a fresh thread from that state with the iteration's
category copied N times (distinct ids), as if ``categorize`` had found N, and runs the remediation
graph from the fan-out to the end (``--stop-at diagnose``: evidence, five whys with the model,
collect). Rounds alternate N=1 and N so that machine load hits both alike; medians are compared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("FIXLOOP_PROJECT_ROOT", str(ROOT))

from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402

from fixloop.config import load_settings  # noqa: E402
from fixloop.context import RunContext  # noqa: E402
from fixloop.graphs.remediation import build_graph  # noqa: E402
from fixloop.integrations.llm.scripted import scripted_model  # noqa: E402
from fixloop.integrations.logs import build_log_source  # noqa: E402
from fixloop.redaction import Redactor  # noqa: E402
from fixloop.scenarios import load_scenario, prepare_workspace  # noqa: E402
from fixloop.state import RunInfo  # noqa: E402
from fixloop.target import start_target, stop_target  # noqa: E402

SCENARIO = "handshake-500"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--categories", type=int, default=4)
    parser.add_argument("--latency", type=float, default=1.0, help="scripted per-call latency, seconds")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-fan-out-") as tmp:
        os.environ["FIXLOOP_HOME"] = str(Path(tmp) / "home")
        repo = prepare_workspace(Path(tmp) / "ws", load_scenario(SCENARIO))
        start_target(repo)
        try:
            run(repo, Path(tmp) / "out", args)
        finally:
            stop_target(repo)


def run(repo: Path, out: Path, args: argparse.Namespace) -> None:
    settings = load_settings(repo)
    settings = settings.model_copy(
        update={"limits": settings.limits.model_copy(update={"max_parallel": max(4, args.categories)})}
    )
    model = scripted_model(settings, load_scenario(SCENARIO), latency=args.latency)
    ctx = RunContext(
        settings=settings, repo=repo, out_dir=out, thread_id="bench", redactor=Redactor(), model=model,
        logs=build_log_source(settings, repo),
    )  # fmt: skip
    graph = build_graph(checkpointer=InMemorySaver())
    info = RunInfo(
        thread_id="bench", repo=str(repo), focus="websockets", out_dir=str(out), llm_mode="scripted",
        model_name=model.name, stop_at="diagnose",
    )  # fmt: skip
    try:
        base = graph.invoke({"run": info}, _config("base", args.categories), context=ctx)
        categories = base["iterations"][0].categories
        print(f"base run: {base['status']}, {len(categories)} category: {categories[0].id}")
        times: dict[int, list[float]] = {1: [], args.categories: []}
        for _ in range(args.rounds):
            for n in times:
                times[n].append(_fan_out(graph, ctx, base, n, args.categories))
    finally:
        model.close()
    one, many = statistics.median(times[1]), statistics.median(times[args.categories])
    calls = "one five-whys call per investigation; evidence gathering is real"
    print(f"latency {args.latency:.2f} s per model call ({calls}); rounds {args.rounds}")
    print(f"1 category:  {one:.2f} s (median of {times[1]})")
    print(f"{args.categories} categories: {many:.2f} s (median of {times[args.categories]})")
    ratio = many / one
    print(f"ratio wall({args.categories}) / wall(1) = {ratio:.2f}; goal <= 1.2: {'met' if ratio <= 1.2 else 'NOT met'}")


def _config(thread: str, parallel: int) -> Any:
    return {"configurable": {"thread_id": thread}, "max_concurrency": max(4, parallel)}


def _fan_out(graph: Any, ctx: RunContext, base: dict[str, Any], n: int, parallel: int) -> float:
    """Wall time of the fan-out of ``n`` copies of the base run's category, to the end of the run."""
    record = base["iterations"][0]
    category = record.categories[0]
    copies = [category.model_copy(update={"id": f"{category.id}-{k}"}) for k in range(n)]
    values = {key: value for key, value in base.items() if key not in ("investigations", "status", "outcome")}
    values["iterations"] = [record.model_copy(update={"categories": copies})]
    values["status"] = "running"
    thread = f"fan-out-{n}-{time.monotonic_ns()}"
    config = _config(thread, parallel)
    graph.update_state(config, values, as_node="categorize")
    start = time.perf_counter()
    state = graph.invoke(None, config, context=ctx)
    elapsed = time.perf_counter() - start
    done = [i for i in state["investigations"] if i.five_whys is not None]
    assert len(done) == n, f"{len(done)} of {n} investigations finished"
    return elapsed


if __name__ == "__main__":
    main()
