"""Peak memory of ``fixloop serve`` under concurrent oversized unsigned bodies (issue #17).

Starts ``python -m fixloop serve`` as a real subprocess (every secret set, a temporary FIXLOOP_HOME),
warms every webhook route, reads its idle resident memory, resets the kernel's peak counter
(``/proc/PID/clear_refs``), then sends N concurrent unsigned POSTs of SIZE MB each, one per webhook
route in turn, first with a declared ``Content-Length``, then chunked (no length: the cap must hold
while reading). It reads the peak (``VmHWM``) after each burst and prints idle, peak, peak - idle and
the answers. Goal: peak below idle + 50 MB. Linux only (``/proc``). Stops by itself.

    python benchmarks/bench_server_memory.py [--size-mb 100] [--concurrent 3] [--src PATH]

``--src`` runs another checkout's ``src`` (e.g. the code before the fix, for the "before" figure).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._serve import free_port, serving  # noqa: E402

ROUTES = ("/slack/commands", "/slack/events", "/github/webhook")
CHUNK = 1024 * 1024
GOAL_MB = 50


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def upload(port: int, route: str, size: int, *, chunked: bool, answers: list[str]) -> None:
    """Send an unsigned ``size``-byte POST; stop sending once the server answered or closed; record the answer."""
    head = [f"POST {route} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Content-Type: application/json"]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}")
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    received = b""
    sent = 0
    try:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        block = b"x" * CHUNK
        while sent < size and b"\r\n" not in received:
            piece = block[: min(CHUNK, size - sent)]
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            sent += len(piece)
            sock.setblocking(False)
            try:
                received += sock.recv(4096)
            except BlockingIOError:
                pass
            finally:
                sock.setblocking(True)
        if chunked and sent >= size:
            sock.sendall(b"0\r\n\r\n")
        sock.settimeout(30)
        while b"\r\n" not in received:
            more = sock.recv(4096)
            if not more:
                break
            received += more
    except OSError as exc:
        if b"\r\n" not in received:
            answers.append(f"{route}: connection closed after {sent // CHUNK} MB sent ({type(exc).__name__})")
            return
    finally:
        sock.close()
    status = received.split(b"\r\n", 1)[0].decode(errors="replace") or "no answer"
    answers.append(f"{route}: {status} after {sent // CHUNK} MB sent")


def burst(pid: int, port: int, *, concurrent: int, size: int, chunked: bool) -> tuple[int, list[str]]:
    reset_peak(pid)
    answers: list[str] = []
    threads = [
        threading.Thread(
            target=upload, args=(port, ROUTES[n % len(ROUTES)], size), kwargs={"chunked": chunked, "answers": answers}
        )
        for n in range(concurrent)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(0.5)
    return status_kb(pid, "VmHWM"), answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--concurrent", type=int, default=3)
    parser.add_argument("--src", type=Path, default=ROOT / "src")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as home:
        repo = Path(home) / "repo"
        repo.mkdir()
        env = {
            **os.environ,
            "FIXLOOP_HOME": home,
            "PYTHONPATH": str(args.src),
            "SLACK_SIGNING_SECRET": "bench-signing-secret",
            "SLACK_BOT_TOKEN": "xoxb-bench-token",
            "FIXLOOP_BUTTON_KEY": "bench-button-key",
            "GITHUB_WEBHOOK_SECRET": "bench-webhook-secret",
            "GITHUB_TOKEN": "ghp_benchtoken",
        }
        argv = ["--allow-repo", f"acme/chat={repo}", "--slack-api-url", "http://127.0.0.1:9/api/"]
        with serving(port, argv, env) as proc:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:  # warm every route
                for _ in range(20):
                    for route in ROUTES:
                        client.post(route, content=b'{"warm": true}')
            time.sleep(1)
            idle = status_kb(proc.pid, "VmRSS")
            size = args.size_mb * 1024 * 1024
            print(f"fixloop serve (src {args.src}), {args.concurrent} concurrent unsigned {args.size_mb} MB bodies")
            print(f"  idle RSS: {idle / 1024:.1f} MB")
            worst = 0
            for chunked in (False, True):
                peak, answers = burst(proc.pid, port, concurrent=args.concurrent, size=size, chunked=chunked)
                worst = max(worst, peak)
                kind = "chunked" if chunked else "Content-Length"
                print(f"  {kind}: peak RSS {peak / 1024:.1f} MB = idle + {(peak - idle) / 1024:.1f} MB")
                for answer in sorted(answers):
                    print(f"    {answer}")
            over = (worst - idle) / 1024
            verdict = "met" if over < GOAL_MB else "NOT met"
            print(f"  worst peak - idle: {over:.1f} MB (goal < {GOAL_MB} MB): {verdict}")
            print(f"  alive after: {httpx.get(f'http://127.0.0.1:{port}/healthz').json()['ok']}")


if __name__ == "__main__":
    main()
