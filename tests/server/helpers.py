"""Test helpers for the server: signed Slack and GitHub requests, a real uvicorn on port 0,
a local GitHub issues stand-in for PyGithub, and a scripted runner standing in for
``fixloop.runs`` in the routing tests (the end-to-end tests use the real one)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import uvicorn
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette

from fixloop.approval import check_heads
from fixloop.errors import ApprovalError, RunNotFoundError, UsageError
from fixloop.integrations.loopback import LoopbackHTTPServer

SLACK_SECRET = "test-signing-secret-0123456789"
SLACK_TOKEN = "xoxb-test-token-abcdef"
GITHUB_SECRET = "test-webhook-secret-9876543210"
GITHUB_TOKEN = "ghp_testtoken0123456789abcdef0123456789"
API_TOKEN = "test-api-token-42"
BUTTON_KEY = "test-button-key-5566778899"
HEAD_SHA = "9f3c2a1b7d6e5f40a1b2c3d4e5f60718293a4b5c"  # the scripted run's PR head
_COMMENT_IDS = itertools.count(1000)


# ---------------------------------------------------------------- signing


def slack_headers(body: str, *, secret: str = SLACK_SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def command_body(text: str, *, user: str = "UCAROL", channel: str = "CFIX", response_url: str = "") -> str:
    return urlencode(
        {
            "command": "/fixloop",
            "text": text,
            "user_id": user,
            "channel_id": channel,
            "response_url": response_url,
            "trigger_id": "t1",
        }
    )


def click_body(
    action_id: str,
    value: str,
    *,
    user: str,
    channel: str,
    message_ts: str,
    response_url: str,
    thread_ts: str | None = None,
) -> str:
    message = {"ts": message_ts, **({"thread_ts": thread_ts} if thread_ts else {})}
    payload = {
        "type": "block_actions",
        "user": {"id": user},
        "channel": {"id": channel},
        "message": message,
        "response_url": response_url,
        "actions": [{"action_id": action_id, "value": value}],
    }
    return urlencode({"payload": json.dumps(payload)})


def button_value(message_blocks: list[dict[str, Any]], action_id: str) -> str:
    """The value of the button ``action_id`` in a posted message's blocks (as Slack sends it back on a click)."""
    for block in message_blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("action_id") == action_id:
                return str(element.get("value", ""))
    raise AssertionError(f"no {action_id} button in the message")


def github_headers(body: bytes, *, event: str, delivery: str, secret: str = GITHUB_SECRET) -> dict[str, str]:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-Hub-Signature-256": signature,
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "Content-Type": "application/json",
    }


def comment_payload(
    body: str, *, login: str = "carol", number: int = 7, repo: str = "acme/chatbackend", comment_id: int | None = None
) -> bytes:
    """An ``issue_comment`` ``created`` payload; each call is a new comment (a fresh id) unless ``comment_id``."""
    return json.dumps(
        {
            "action": "created",
            "issue": {"number": number, "title": "websocket handshake fails", "body": ""},
            "comment": {
                "id": next(_COMMENT_IDS) if comment_id is None else comment_id,
                "body": body,
                "user": {"login": login},
            },
            "repository": {"full_name": repo},
            "sender": {"login": login, "type": "User"},
        }
    ).encode()


# ---------------------------------------------------------------- a real server on loopback


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """Run ``app`` under a real uvicorn on 127.0.0.1 (free port); yield its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def wait_until(predicate: Any, *, timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# ---------------------------------------------------------------- GitHub issues stand-in


class LocalGithubIssues:
    """The GitHub REST endpoints PyGithub calls to comment on an issue; records comments."""

    def __init__(self, token: str = GITHUB_TOKEN) -> None:
        self.token = token
        self.comments: list[dict[str, Any]] = []
        self.unauthorized = 0
        self._lock = threading.Lock()
        self._http = LoopbackHTTPServer(self._handler(), name="local-github-issues")
        self._http.start()

    @property
    def url(self) -> str:
        return self._http.url

    def stop(self) -> None:
        self._http.stop()

    def bodies(self, repo: str, number: int) -> list[str]:
        with self._lock:
            return [c["body"] for c in self.comments if c["repo"] == repo and c["number"] == number]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                if self.headers.get("Authorization") != f"token {standin.token}":
                    standin.unauthorized += 1
                    self._send(401, {"message": "Bad credentials"})
                    return False
                return True

            def _issue(self) -> tuple[str, int] | None:
                parts = self.path.strip("/").split("/")  # repos/O/R/issues/N[/comments]
                if len(parts) >= 5 and parts[0] == "repos" and parts[3] == "issues":
                    return f"{parts[1]}/{parts[2]}", int(parts[4])
                return None

            def do_GET(self) -> None:
                found = self._issue()
                if not self._authorized():
                    return
                if found is None:
                    self._send(404, {"message": "Not Found"})
                    return
                repo, number = found
                base = standin.url
                self._send(
                    200,
                    {
                        "number": number,
                        "title": "issue",
                        "state": "open",
                        "url": f"{base}/repos/{repo}/issues/{number}",
                        "html_url": f"https://github.example/{repo}/issues/{number}",
                    },
                )

            def do_POST(self) -> None:
                found = self._issue()
                if not self._authorized():
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if found is None or not self.path.endswith("/comments"):
                    self._send(404, {"message": "Not Found"})
                    return
                repo, number = found
                with standin._lock:
                    standin.comments.append({"repo": repo, "number": number, "body": body.get("body", "")})
                    n = len(standin.comments)
                self._send(
                    201,
                    {
                        "id": n,
                        "body": body.get("body", ""),
                        "html_url": f"https://github.example/{repo}/issues/{number}#issuecomment-{n}",
                    },
                )

        return Handler


# ---------------------------------------------------------------- a scripted runner


class ScriptedRunner:
    """Stands in for ``fixloop.runs`` in the routing tests: a run goes running -> awaiting_approval
    with one diagnosed category and a PR; approve applies approvers + four-eyes like the real rules
    and turns the run green; reject records and waits again. Records every call."""

    def __init__(
        self,
        approvers: tuple[str, ...] = ("alice", "bob"),
        hold: threading.Event | None = None,
        title: str = "handshake rejected with HTTP 500",
    ) -> None:
        self.approvers = approvers
        self.title = title
        self.hold = hold  # when given, start() waits for it while the run shows "running"
        self.runs: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def stop(self, thread_id: str, *, by: str) -> str:
        with self._lock:
            self.calls.append(("stop", {"thread_id": thread_id, "by": by}))
            run = self.runs.get(thread_id)
        if run is None or run["status"] in ("green", "diagnosed"):
            raise UsageError(f"run {thread_id} already ended: there is nothing left to stop")
        return f"run {thread_id}: level lowered from merge to diagnose (asked by {by})"

    def started(self) -> list[dict[str, Any]]:
        with self._lock:
            return [kw for name, kw in self.calls if name == "start"]

    def start(
        self,
        *,
        repo: Path,
        focus: str,
        requested_by: str,
        source: str,
        llm: str,
        thread_id: str,
        scenario: str | None,
        out_dir: Path,
        extra: dict[str, Any],
    ) -> str:
        with self._lock:
            self.calls.append(
                (
                    "start",
                    {
                        "repo": repo,
                        "focus": focus,
                        "requested_by": requested_by,
                        "source": source,
                        "llm": llm,
                        "thread_id": thread_id,
                    },
                )
            )
            self.runs[thread_id] = {
                "thread_id": thread_id,
                "focus": focus,
                "status": "running",
                "requested_by": requested_by,
                "approvals": [],
                "deploys": [],
            }
        run = self.runs[thread_id]
        if self.hold is not None:
            self.hold.wait(30)
        run["selection"] = {
            "focus": focus,
            "tiers": [{"priority": 1, "name": "core e2e", "files": [{"path": "tests/test_ws.py"}]}],
        }
        run["test_runs"] = [{"counts": {"passed": 3, "failed": 2}}]
        run["categories"] = [
            {
                "id": "server-error-1",
                "kind": "server-error",
                "title": self.title,
                "tests": ["tests/test_ws.py::test_connect", "tests/test_ws.py::test_events"],
                "five_whys": {
                    "steps": [
                        {"question": f"Why {n}?", "answer": f"because {n}", "evidence": [f"E{n}"]} for n in range(1, 6)
                    ],
                    "root_cause": "the JWT audience check rejects every token",
                    "confidence": 0.8,
                },
            }
        ]
        run["prs"] = [
            {
                "number": 1,
                "url": "http://codehost.local/pr/1",
                "title": "Fix JWT audience",
                "state": "open",
                "head_sha": HEAD_SHA,
                "category_id": "server-error-1",
            }
        ]
        run["status"] = "awaiting_approval"
        return thread_id

    def _check(self, thread_id: str, by: str) -> dict[str, Any]:
        run = self.status(thread_id)
        if by == run["requested_by"]:
            run["approvals"].append({"by": by, "decision": "refused", "reason": "four-eyes"})
            raise ApprovalError(f"{by} requested this run and cannot approve it (four-eyes)")
        if by not in self.approvers:
            run["approvals"].append({"by": by, "decision": "refused", "reason": "not an approver"})
            raise ApprovalError(f"{by} is not an approver")
        return run

    def move_head(self, thread_id: str, sha: str) -> None:
        """A new commit on the run's PR (a re-fix, a push): approvals naming the old head no longer hold."""
        self.runs[thread_id]["prs"][0]["head_sha"] = sha

    def approve(self, thread_id: str, *, by: str, source: str, heads: Sequence[str] | None = None) -> dict[str, Any]:
        self.calls.append(("approve", {"thread_id": thread_id, "by": by, "source": source}))
        if heads is not None:  # as fixloop.runs does: against the waiting PRs, before any rule; refused: recorded
            run = self.status(thread_id)
            try:
                check_heads({pr["number"]: pr["head_sha"] for pr in run["prs"] if pr["state"] == "open"}, heads)
            except ApprovalError as exc:
                run["approvals"].append({"by": by, "decision": "refused", "reason": exc.one_line()})
                raise
        run = self._check(thread_id, by)
        run["approvals"].append({"by": by, "decision": "approve", "source": source})
        run["prs"][0]["state"] = "merged"
        run["deploys"].append({"revision": "abc123def4567", "outcome": "healthy"})
        run["test_runs"].append({"counts": {"passed": 5}})
        run["status"] = "green"
        return run

    def reject(self, thread_id: str, *, by: str, reason: str, source: str) -> dict[str, Any]:
        self.calls.append(("reject", {"thread_id": thread_id, "by": by, "reason": reason, "source": source}))
        run = self._check(thread_id, by)
        run["approvals"].append({"by": by, "decision": "reject", "reason": reason, "source": source})
        return run

    def status(self, thread_id: str) -> dict[str, Any]:
        if thread_id not in self.runs:
            raise RunNotFoundError(f"no run {thread_id}")
        return self.runs[thread_id]

    def list(self) -> list[dict[str, Any]]:
        return [{"thread_id": t, "focus": r["focus"], "status": r["status"]} for t, r in self.runs.items()]


SRC = Path(__file__).resolve().parents[2] / "src"


def claim_in_a_killed_process(path: Path, delivery: str) -> None:
    """A real ``serve``-like process that claims ``delivery`` and is SIGKILLed before it enqueues anything."""
    code = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from fixloop.server.store import ServerStore\n"
        "store = ServerStore(path=Path(sys.argv[1]))\n"
        "assert store.claim(sys.argv[2])\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run([sys.executable, "-c", code, str(path), delivery], env=env, capture_output=True, timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
