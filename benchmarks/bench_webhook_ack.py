"""Webhook acknowledgement latency of ``fixloop serve`` under a steady load on loopback.

Starts ``python -m fixloop serve`` as a real subprocess (secrets from env, a temporary
FIXLOOP_HOME), then sends signed GitHub webhooks (each with a new delivery id, so each
one is verified, recorded in the dedupe store, parsed and acknowledged) at a fixed rate
for a bounded time, open loop; then the same load on ``GET /healthz`` as the baseline
measured in the same command. Prints p50/p90/p99/max for both and their ratio. Stops by
itself.

    python benchmarks/bench_webhook_ack.py [--rate 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._serve import free_port, percentile, serving  # noqa: E402

SECRET = "bench-webhook-secret"


def signed_comment() -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "action": "created",
            "issue": {"number": 1, "title": "t", "body": ""},
            "comment": {"body": "thanks, looks good"},
            "repository": {"full_name": "acme/chat"},
            "sender": {"login": "carol", "type": "User"},
        }
    ).encode()
    headers = {
        "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
        "X-GitHub-Event": "issue_comment",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    return body, headers


class Connection:
    """One keep-alive HTTP/1.1 connection on raw asyncio streams (a client far lighter than httpx,
    so that the load generator's own CPU time disturbs the measurement as little as possible)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await self.reader.readexactly(length) if length else b""
        return status, body


class ConnectionPool:
    """Keep-alive connections to one server, most recently used first. A connection idle longer than
    ``max_idle`` is closed, not reused: uvicorn closes a keep-alive connection after 5 s idle, and a request
    written on a connection the server is closing fails (IncompleteReadError) without ever reaching it. Real
    HTTP clients expire idle connections the same way."""

    def __init__(self, host: str, port: int, max_idle: float = 4.0) -> None:
        self.host, self.port, self.max_idle = host, port, max_idle
        self.idle: list[tuple[float, Connection]] = []

    async def take(self) -> Connection:
        while self.idle:
            since, conn = self.idle.pop()
            if time.monotonic() - since < self.max_idle:
                return conn
            conn.writer.close()
        return Connection(*await asyncio.open_connection(self.host, self.port))

    def give(self, conn: Connection) -> None:
        self.idle.append((time.monotonic(), conn))

    def close(self) -> int:
        for _, conn in self.idle:
            conn.writer.close()
        return len(self.idle)


def raw_request(method: str, path: str, host: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def open_loop(
    host: str, port: int, *, rate: float, seconds: float, request: Callable[[str], bytes], label: str
) -> tuple[list[float], int]:
    """Send ``rate`` requests per second for ``seconds`` (open loop), each made by ``request(netloc)``; return
    latencies (ms) and failures. A request counts as answered on 200, or 202 "ignored"."""
    latencies: list[float] = []
    failures = 0
    pool = ConnectionPool(host, port)
    reasons: list[str] = []
    netloc = f"{host}:{port}"

    async def one() -> None:
        nonlocal failures
        raw = request(netloc)
        started = time.perf_counter()
        try:
            conn = await pool.take()
            status, answer = await conn.request(raw)
            ok = status == 200 or (status == 202 and b'"ignored"' in answer)
            if not ok:
                reasons.append(f"HTTP {status}: {answer[:120]!r}")
            pool.give(conn)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            ok = False
            reasons.append(f"{type(exc).__name__}: {exc}")
        latencies.append((time.perf_counter() - started) * 1000)
        if not ok:
            failures += 1

    tasks = []
    total = int(rate * seconds)
    start = time.perf_counter()
    for n in range(total):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    sent_in = time.perf_counter() - start
    await asyncio.gather(*tasks)
    connections = pool.close()
    for reason in sorted(set(reasons))[:5]:
        print(f"  {label} failure: {reason}")
    rate_sent = total / sent_in
    print(f"  {label}: sent {total} requests in {sent_in:.2f} s ({rate_sent:.0f} req/s), {connections} connections")
    return latencies, failures


def webhook_request(netloc: str) -> bytes:
    body, headers = signed_comment()
    return raw_request("POST", "/github/webhook", netloc, body, headers)


def healthz_request(netloc: str) -> bytes:
    return raw_request("GET", "/healthz", netloc)


async def load(host: str, port: int, *, rate: float, seconds: float, webhook: bool) -> tuple[list[float], int]:
    """Signed webhooks (or ``/healthz``, the baseline) at ``rate`` per second for ``seconds``."""
    request, label = (webhook_request, "webhook") if webhook else (healthz_request, "healthz")
    return await open_loop(host, port, rate=rate, seconds=seconds, request=request, label=label)


def report(name: str, latencies: list[float], failures: int, seconds: float) -> None:
    print(
        f"{name:10s} n={len(latencies):5d} failed={failures:3d} "
        f"p50={percentile(latencies, 0.50):6.2f}ms p90={percentile(latencies, 0.90):6.2f}ms "
        f"p99={percentile(latencies, 0.99):6.2f}ms max={max(latencies):7.2f}ms mean={statistics.mean(latencies):6.2f}ms"
    )


async def main_async(port: int, rate: float, seconds: float) -> None:
    await load("127.0.0.1", port, rate=50, seconds=1, webhook=True)  # warm up
    health, health_failures = await load("127.0.0.1", port, rate=rate, seconds=seconds, webhook=False)
    hooks, hook_failures = await load("127.0.0.1", port, rate=rate, seconds=seconds, webhook=True)
    report("webhook", hooks, hook_failures, seconds)
    report("healthz", health, health_failures, seconds)
    print(
        f"ratio webhook/healthz: p50 x{percentile(hooks, 0.5) / percentile(health, 0.5):.2f}, "
        f"p99 x{percentile(hooks, 0.99) / percentile(health, 0.99):.2f}"
    )
    verdict = "met" if percentile(hooks, 0.99) < 100 and hook_failures == 0 else "NOT met"
    print(f"goal webhook p99 < 100 ms with no failure: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as home:
        repo = Path(home) / "chat"
        repo.mkdir()
        env = {
            **os.environ,
            "FIXLOOP_HOME": home,
            "GITHUB_WEBHOOK_SECRET": SECRET,
            "GITHUB_TOKEN": "ghp_bench",
            "PYTHONPATH": str(ROOT / "src"),
        }
        args_ = ["--allow-repo", f"acme/chat={repo}", "--github-api-url", "http://127.0.0.1:9"]
        with serving(port, args_, env):
            base = f"http://127.0.0.1:{port}"
            print(
                f"fixloop serve on {base}; load: {args.rate:.0f} req/s for {args.seconds:.0f} s per target, open loop"
            )
            asyncio.run(main_async(port, args.rate, args.seconds))


if __name__ == "__main__":
    main()
