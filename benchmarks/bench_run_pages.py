"""The ``/runs`` page of ``fixloop serve`` with 1,000 runs in the store: latency on loopback.

Writes N runs into the real run index of a temporary FIXLOOP_HOME (mixed statuses, focuses, requesters),
starts ``python -m fixloop serve`` as a subprocess with a page user, signs in through ``/signin`` (a real
session cookie), then requests, one after the other: ``GET /healthz`` (the baseline, same command),
``GET /runs`` as a browser (HTML, the newest 100 of N), ``GET /runs?status=green&requester=u3`` (filtered)
and ``GET /runs`` as the JSON API. Prints p50/p95/p99/max per route and the ratios to the baseline.

    python benchmarks/bench_run_pages.py [--runs 1000] [--requests 300]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._serve import free_port, percentile, serving  # noqa: E402

TOKEN = "bench-page-token"
API_TOKEN = "bench-api-token"
STATUSES = ("green", "awaiting_approval", "error", "diagnosed", "running", "budget_exhausted")


def fill_index(home: Path, runs: int) -> None:
    os.environ["FIXLOOP_HOME"] = str(home)
    sys.path.insert(0, str(ROOT / "src"))
    from fixloop.checkpoints import RunEntry, home_index

    with home_index() as index:
        for n in range(runs):
            index.put(
                RunEntry(
                    thread_id=f"fl-bench-{n:05d}",
                    focus=("websockets", "auth", "billing")[n % 3],
                    status=STATUSES[n % len(STATUSES)],
                    repo=f"/srv/repos/r{n % 7}",
                    out_dir=str(home / "server-runs" / f"fl-bench-{n:05d}"),
                    requested_by=f"u{n % 11}",
                    request={"focus": "websockets", "repo": f"/srv/repos/r{n % 7}"},
                )
            )


def measure(client: httpx.Client, path: str, headers: dict[str, str], count: int, check: str) -> list[float]:
    for _ in range(5):  # warm-up
        client.get(path, headers=headers)
    times: list[float] = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200 or check not in response.text:
            raise SystemExit(f"{path}: unexpected answer {response.status_code}: {response.text[:200]}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        home = Path(tmp)
        fill_index(home, args.runs)
        config = home / "fixloop.toml"
        digest = hashlib.sha256(TOKEN.encode()).hexdigest()
        config.write_text(f'[approval]\napprovers = ["bench"]\n\n[server]\npage_users = {{ bench = "{digest}" }}\n')
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "GITHUB_"))}
        env.update(FIXLOOP_HOME=str(home), FIXLOOP_API_TOKEN=API_TOKEN, PYTHONPATH=str(ROOT / "src"))
        with serving(port, ["--config", str(config)], env):
            url = f"http://127.0.0.1:{port}"
            load = os.getloadavg()[0]
            with httpx.Client(base_url=url, timeout=30) as client:
                signed = client.post("/signin", data={"token": TOKEN, "next": "/runs"})
                if signed.status_code != 303:
                    raise SystemExit(f"sign-in failed: {signed.status_code}")
                html = {"Accept": "text/html"}
                results = {
                    "GET /healthz (baseline)": measure(client, "/healthz", {}, args.requests, '"ok"'),
                    f"GET /runs (HTML, newest 100 of {args.runs})": measure(
                        client, "/runs", html, args.requests, f"of {args.runs} runs"
                    ),
                    "GET /runs?status=green&requester=u3 (HTML)": measure(
                        client, "/runs?status=green&requester=u3", html, args.requests, "fl-bench-"
                    ),
                    "GET /runs (JSON API)": measure(
                        client, "/runs", {"Authorization": f"Bearer {API_TOKEN}"}, args.requests, "fl-bench-"
                    ),
                }
    base = statistics.median(results["GET /healthz (baseline)"])
    print(f"runs in the store: {args.runs}; {args.requests} sequential requests per route; load {load:.1f}")
    for name, times in results.items():
        p50, p95, p99 = (percentile(times, q) for q in (0.5, 0.95, 0.99))
        print(
            f"{name:48s} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  p99 {p99:7.2f} ms  max {max(times):7.2f} ms"
            f"  (p50 x{p50 / base:.1f} of healthz)"
        )
    page_p95 = percentile(results[f"GET /runs (HTML, newest 100 of {args.runs})"], 0.95)
    print(f"goal: list page p95 < 200 ms: {'met' if page_p95 < 200 else 'NOT met'} ({page_p95:.1f} ms)")


if __name__ == "__main__":
    main()
