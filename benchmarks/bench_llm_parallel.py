"""Parallel model calls share one OpenAIChatModel without serializing (the fan-out's premise).

Runs N five-whys-sized calls against the scripted server (fixed per-call latency) one after another,
then from ``--workers`` threads sharing one model, and prints both times and their ratio, all
measured in this command. Usage: ``python benchmarks/bench_llm_parallel.py [--calls 16] [--workers 4]``.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

from pydantic import BaseModel

from fixloop.integrations.llm.openai_chat import OpenAIChatModel, RetryPolicy
from fixloop.integrations.llm.scripted_server import ScriptedServer
from fixloop.interfaces import ChatMessage


class Reply(BaseModel):
    root_cause: str


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.1, help="scripted per-call latency, seconds")
    args = parser.parse_args()
    prompt = [ChatMessage("user", "evidence line\n" * 400)]
    with ScriptedServer({"bench": [{"root_cause": "x"}]}, latency=args.latency) as server:
        model = OpenAIChatModel(model=server.model, api_key="k", base_url=server.url, retry=RetryPolicy(backoff=0.01))

        def call(_: int) -> None:
            model.complete_json(prompt, Reply, purpose="bench")

        call(0)  # warm up the connection pool
        start = time.perf_counter()
        for i in range(args.calls):
            call(i)
        sequential = time.perf_counter() - start
        start = time.perf_counter()
        with ThreadPoolExecutor(args.workers) as pool:
            list(pool.map(call, range(args.calls)))
        parallel = time.perf_counter() - start
    print(f"{args.calls} calls, latency {args.latency:.3f}s each")
    print(f"sequential: {sequential:.3f}s  ({sequential / args.calls * 1000:.1f} ms/call)")
    print(f"{args.workers} threads: {parallel:.3f}s  ({parallel / args.calls * 1000:.1f} ms/call)")
    print(f"speed-up: {sequential / parallel:.2f}x (ideal {args.workers}x); usage {model.usage}")


if __name__ == "__main__":
    main()
