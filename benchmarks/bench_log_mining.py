"""Benchmark: fixloop's log miner vs plain Drain3 on the same 1M log lines (ratio, same templates?).

    /work/venv/bin/python benchmarks/bench_log_mining.py [--lines 1000000]

Baseline: ``drain3.TemplateMiner.add_log_message`` on every line, with fixloop's Drain3 config
(same masking, similarity threshold and depth). Candidate: ``fixloop.tools.log_mining.mine_messages``
(Drain3's masker and tree behind a cache of seen raw and masked lines). The script checks that
both give the same templates with the same counts and prints the speed ratio.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src")]

from drain3 import TemplateMiner  # noqa: E402

from fixloop.tools.log_mining import mine_messages, miner_config  # noqa: E402

USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
EVENTS = ["agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed"]
TOOLS = ["search", "calculator", "weather", "calendar", "translate", "summarize"]
PATHS = ["/ws", "/health", "/api/profile", "/api/billing", "/api/threads", "/api/agents"]
SHAPES = [
    lambda r: f"GET {r.choice(PATHS)} -> {r.choice([101, 200, 200, 200, 401, 403, 404, 500])}",
    lambda r: f"websocket connected user={r.choice(USERS)} connection_id={r.getrandbits(48):012x}",
    lambda r: f"websocket closed close_code={r.choice([1000, 1000, 1001, 1008, 1011])}",
    lambda r: f"event {r.choice(EVENTS)} run_id=run-{r.randint(1, 99999)} request_id=m{r.randint(1, 50)}",
    lambda r: f"chat message received request_id=m{r.randint(1, 50)} from {r.choice(USERS)}",
    lambda r: f"tool {r.choice(TOOLS)} finished in {r.randint(1, 2500)} ms",
    lambda r: f"unhandled error for {r.choice(PATHS)}: KeyError '{r.choice(['session_store', 'user', 'claims'])}'",
    lambda r: f"websocket auth refused: token expired {r.randint(1, 600)} s ago for {r.choice(USERS)}",
    lambda r: f"slow request {r.choice(PATHS)} took {r.randint(500, 9000)} ms on worker {r.randint(1, 16)}",
    lambda r: f"db pool size={r.randint(1, 40)} in_use={r.randint(0, 40)} waiting={r.randint(0, 5)}",
    lambda r: f"cache {r.choice(['hit', 'miss'])} key=thread:{r.getrandbits(32):08x} ttl={r.randint(1, 3600)}",
    lambda r: (
        f"client {r.randint(1, 255)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(0, 255)}:"
        f"{r.randint(1024, 65535)} disconnected after {r.randint(1, 900)} s"
    ),
    lambda r: (
        f"agent {r.choice(['planner', 'researcher', 'writer'])} retry {r.randint(1, 5)}/5 after "
        f"{r.choice(['RateLimitError', 'Timeout', 'APIConnectionError'])}"
    ),
    lambda r: f"user {r.choice(USERS)} opened thread {r.getrandbits(64):016x} in workspace {r.choice(USERS)}-team",
    lambda r: f"heartbeat ok uptime={r.randint(1, 10**6)}s rss={r.randint(50, 900)}MiB",
]


def synthetic_lines(count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    weights = [30, 8, 8, 20, 6, 6, 1, 1, 2, 3, 5, 2, 1, 3, 3]
    shapes = rng.choices(SHAPES, weights=weights, k=count)
    return [shape(rng) for shape in shapes]


def drain3_baseline(lines: list[str]) -> dict[str, int]:
    miner = TemplateMiner(config=miner_config())
    for line in lines:
        miner.add_log_message(line)
    out: dict[str, int] = {}
    for cluster in miner.drain.clusters:
        out[cluster.get_template()] = out.get(cluster.get_template(), 0) + cluster.size
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    lines = synthetic_lines(args.lines)
    print(f"{len(lines)} lines, {len(set(lines))} distinct")

    started, cpu = time.perf_counter(), time.process_time()
    ours = mine_messages(lines)
    ours_wall, ours_cpu = time.perf_counter() - started, time.process_time() - cpu

    started, cpu = time.perf_counter(), time.process_time()
    baseline = drain3_baseline(lines)
    base_wall, base_cpu = time.perf_counter() - started, time.process_time() - cpu

    same = ours == baseline
    print(f"drain3 TemplateMiner: {base_wall:.2f} s wall, {base_cpu:.2f} s CPU, {len(baseline)} templates")
    print(f"fixloop mine_messages: {ours_wall:.2f} s wall, {ours_cpu:.2f} s CPU, {len(ours)} templates")
    print(f"speed-up (CPU): {base_cpu / ours_cpu:.1f}x; same templates and counts: {same}")
    if not same:
        only_base = set(baseline) - set(ours)
        only_ours = set(ours) - set(baseline)
        differing = [t for t in set(ours) & set(baseline) if ours[t] != baseline[t]]
        print(f"  only in drain3: {len(only_base)}, only in fixloop: {len(only_ours)}, count differs: {len(differing)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
