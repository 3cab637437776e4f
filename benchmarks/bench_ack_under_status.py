"""Signed acknowledgements of ``fixloop serve`` while chat ``status`` requests are answered (issue #16).

Starts ``python -m fixloop serve`` as a real subprocess (a temporary FIXLOOP_HOME holding one
run's record and the Slack thread bound to it, a local Slack stand-in for the replies), then for
``--seconds`` sends, open loop and at the same time:
- ``--rate`` signed GitHub webhooks per second (each a new delivery: verified, recorded, parsed, acked);
- ``--status-rate`` signed Slack ``@fixloop status`` mentions per second in the run's thread (each
  acked, then answered in the thread by a chat worker from the run's record).
Prints the ack p50/p99 of both, and how many status replies reached Slack (0 dropped is the goal)
and how long after the load the last one arrived. Stops by itself.

    python benchmarks/bench_ack_under_status.py [--rate 200] [--status-rate 200] [--seconds 10] [--src PATH]

``--src`` runs the server from another checkout's ``src`` (e.g. main's, for a before/after figure).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

from bench_webhook_ack import ROOT, SECRET, open_loop, raw_request, webhook_request

from benchmarks._serve import free_port, percentile, serving
from fixloop.integrations.slack.local_slack_server import LocalSlackServer
from fixloop.server.store import ServerStore

SLACK_SECRET = "bench-slack-signing-secret"
CHANNEL, THREAD_TS, THREAD_ID = "CBENCH", "1700000000.000100", "bench-run"


def run_record() -> dict[str, object]:
    """A run waiting for approval, shaped as run.json is (one category, its five whys, one PR)."""
    return {
        "thread_id": THREAD_ID,
        "focus": "websockets",
        "status": "awaiting_approval",
        "requested_by": "bob",
        "approvals": [],
        "deploys": [],
        "iterations": [],
        "test_runs": [{"counts": {"passed": 16, "failed": 2}}],
        "categories": [
            {
                "id": "server-error-1",
                "kind": "server-error",
                "title": "handshake rejected with HTTP 500",
                "tests": ["tests/test_ws.py::test_connect", "tests/test_ws.py::test_events"],
                "five_whys": {
                    "steps": [
                        {"question": f"Why {n}?", "answer": f"because {n}", "evidence": [f"E{n}"]} for n in range(5)
                    ],
                    "root_cause": "the JWT audience check rejects every token",
                    "confidence": 0.8,
                },
            }
        ],
        "prs": [{"number": 1, "url": "http://codehost.local/pr/1", "title": "Fix", "state": "open"}],
    }


def slack_mention() -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:12]}",
            "event": {
                "type": "app_mention",
                "user": "UCAROL",
                "text": "<@UFIXLOOP> status",
                "channel": CHANNEL,
                "ts": f"{time.time():.6f}",
                "thread_ts": THREAD_TS,
            },
        }
    ).encode()
    stamp = str(int(time.time()))
    digest = hmac.new(SLACK_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/json",
    }
    return body, headers


def status_request(netloc: str) -> bytes:
    body, headers = slack_mention()
    return raw_request("POST", "/slack/events", netloc, body, headers)


async def load(port: int, *, rate: float, seconds: float, kind: str) -> tuple[list[float], int]:
    """``rate`` signed requests per second for ``seconds``, open loop; latencies (ms) and failures."""
    request = webhook_request if kind == "webhook" else status_request
    return await open_loop("127.0.0.1", port, rate=rate, seconds=seconds, request=request, label=kind)


def line(name: str, latencies: list[float], failures: int) -> str:
    return (
        f"{name:14s} n={len(latencies):5d} failed={failures:3d} p50={percentile(latencies, 0.5):7.2f}ms "
        f"p99={percentile(latencies, 0.99):8.2f}ms max={max(latencies):8.2f}ms"
    )


async def measure(port: int, args: argparse.Namespace, slack: LocalSlackServer) -> None:
    await load(port, rate=20, seconds=1, kind="webhook")  # warm up
    await load(port, rate=5, seconds=1, kind="status")
    time.sleep(2)
    before = len(slack.thread(CHANNEL, THREAD_TS))
    hooks, statuses = await asyncio.gather(
        load(port, rate=args.rate, seconds=args.seconds, kind="webhook"),
        load(port, rate=args.status_rate, seconds=args.seconds, kind="status"),
    )
    ended = time.monotonic()
    sent = len(statuses[0])
    deadline = ended + 60
    while len(slack.thread(CHANNEL, THREAD_TS)) - before < sent and time.monotonic() < deadline:
        time.sleep(0.05)
    replies = len(slack.thread(CHANNEL, THREAD_TS)) - before
    drained = time.monotonic() - ended
    print(line("webhook ack", *hooks))
    print(line("status ack", *statuses))
    print(f"status replies posted: {replies} of {sent} ({sent - replies} dropped); last {drained:.2f} s after the load")
    acks = hooks[0] + statuses[0]
    verdict = "met" if percentile(acks, 0.99) < 100 and replies == sent and hooks[1] + statuses[1] == 0 else "NOT met"
    print(f"all signed acks: p99 {percentile(acks, 0.99):.2f} ms; goal p99 < 100 ms and 0 replies dropped: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--status-rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--src", type=Path, default=ROOT / "src")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as home, LocalSlackServer(token="xoxb-bench") as slack:
        repo = Path(home) / "chat"
        repo.mkdir()
        out = Path(home) / "server-runs" / THREAD_ID
        out.mkdir(parents=True)
        (out / "run.json").write_text(json.dumps(run_record()))
        os.environ["FIXLOOP_HOME"] = home
        store = ServerStore(None, path=Path(home) / "server.sqlite")
        store.bind(f"slack:{CHANNEL}:{THREAD_TS}", THREAD_ID, repo="chat", focus="websockets", requested_by="bob")
        store.close()
        env = {
            **os.environ,
            "FIXLOOP_HOME": home,
            "GITHUB_WEBHOOK_SECRET": SECRET,
            "GITHUB_TOKEN": "ghp_bench",
            "SLACK_SIGNING_SECRET": SLACK_SECRET,
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "FIXLOOP_BUTTON_KEY": "bench-button-key-0123456789abcdef",
            "PYTHONPATH": str(args.src.resolve()),
        }
        cmd = ["--allow-repo", f"acme/chat={repo}"]
        cmd += ["--github-api-url", "http://127.0.0.1:9", "--slack-api-url", slack.api_url]
        with serving(port, cmd, env):
            print(
                f"fixloop serve from {args.src}; {args.rate:.0f} webhooks/s + {args.status_rate:.0f} status/s "
                f"for {args.seconds:.0f} s, open loop; load average {os.getloadavg()[0]:.1f}"
            )
            asyncio.run(measure(port, args, slack))


if __name__ == "__main__":
    main()
