"""What the ``fixloop serve`` benchmarks share: a free loopback port, the server as a real subprocess
(until ``/healthz`` answers; terminated after), and the percentile of a list of latencies."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(port: int, args: list[str], env: Mapping[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m fixloop serve --port PORT ARGS`` with ``env``, once ``/healthz`` answers (60 s at most)."""
    command = [sys.executable, "-m", "fixloop", "serve", "--port", str(port), *args]
    proc = subprocess.Popen(command, env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("fixloop serve did not start")
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
