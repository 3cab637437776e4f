"""A small local server standing in for Slack's Web API and ``response_url``s.

Speaks what fixloop's Slack client calls: ``POST /api/chat.postMessage``,
``/api/chat.update``, ``/api/auth.test`` (Bearer token checked) and ``POST
/response/<id>`` for response URLs. It records every call and keeps the messages, so
tests and the demo can read a thread back as a transcript.

    server = LocalSlackServer(token="xoxb-test").start()
    WebClient(token="xoxb-test", base_url=server.api_url)
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from fixloop.integrations.loopback import LoopbackHTTPServer


@dataclass
class SlackMessage:
    channel: str
    ts: str
    text: str
    thread_ts: str | None = None
    blocks: list[dict[str, Any]] = field(default_factory=list)
    edits: int = 0


@dataclass
class RecordedCall:
    path: str
    body: dict[str, Any]
    authorized: bool


class LocalSlackServer:
    def __init__(self, *, token: str = "xoxb-local", bot_user_id: str = "UFIXLOOP", host: str = "127.0.0.1") -> None:
        self.token = token
        self.bot_user_id = bot_user_id
        self.calls: list[RecordedCall] = []
        self.messages: list[SlackMessage] = []
        self.responses: list[dict[str, Any]] = []  # bodies posted to response URLs
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._http = LoopbackHTTPServer(self._handler(), name="local-slack", host=host)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> LocalSlackServer:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> LocalSlackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self._http.url

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, name: str = "r") -> str:
        return f"{self.url}/response/{name}"

    # ------------------------------------------------------------ reading back

    def thread(self, channel: str, thread_ts: str) -> list[SlackMessage]:
        """The parent message and its replies, oldest first."""
        with self._lock:
            return [
                m for m in self.messages if m.channel == channel and (m.ts == thread_ts or m.thread_ts == thread_ts)
            ]

    def transcript(self, channel: str, thread_ts: str) -> str:
        lines = []
        for m in self.thread(channel, thread_ts):
            buttons = [
                e.get("text", {}).get("text", "")
                for b in m.blocks
                if b.get("type") == "actions"
                for e in b.get("elements", [])
            ]
            suffix = f"  [buttons: {', '.join(buttons)}]" if buttons else ""
            edited = " (edited)" if m.edits else ""
            lines.append(f"[{m.ts}]{edited} {m.text}{suffix}")
        return "\n".join(lines)

    def wait_for(self, predicate: Any, *, timeout: float = 30.0) -> SlackMessage:
        """The first message matching ``predicate`` (waiting up to ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                for m in self.messages:
                    if predicate(m):
                        return m
            if time.monotonic() > deadline:
                raise TimeoutError("no Slack message matched")
            time.sleep(0.05)

    # ------------------------------------------------------------ the API

    def _api(self, method: str, body: dict[str, Any], authorized: bool) -> dict[str, Any]:
        with self._lock:
            self.calls.append(RecordedCall(method, body, authorized))
            if not authorized:
                return {"ok": False, "error": "invalid_auth"}
            if method == "auth.test":
                return {"ok": True, "user_id": self.bot_user_id, "bot_id": "BFIXLOOP", "team": "local"}
            if method == "chat.postMessage":
                if not body.get("channel"):
                    return {"ok": False, "error": "channel_not_found"}
                ts = f"{1700000000 + next(self._ts)}.000100"
                message = SlackMessage(
                    channel=str(body["channel"]),
                    ts=ts,
                    text=str(body.get("text") or ""),
                    thread_ts=body.get("thread_ts") or None,
                    blocks=_blocks(body.get("blocks")),
                )
                self.messages.append(message)
                return {"ok": True, "channel": message.channel, "ts": ts, "message": {"text": message.text}}
            if method == "chat.update":
                for m in self.messages:
                    if m.channel == body.get("channel") and m.ts == body.get("ts"):
                        m.text = str(body.get("text") or m.text)
                        if "blocks" in body:
                            m.blocks = _blocks(body.get("blocks"))
                        m.edits += 1
                        return {"ok": True, "channel": m.channel, "ts": m.ts}
                return {"ok": False, "error": "message_not_found"}
            return {"ok": False, "error": "unknown_method"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8") if length else ""
                body = _parse(raw, self.headers.get("Content-Type", ""))
                if self.path.startswith("/api/"):
                    bearer = self.headers.get("Authorization", "")
                    authorized = bearer == f"Bearer {server.token}" or body.get("token") == server.token
                    self._json(server._api(self.path[len("/api/") :], body, authorized))
                elif self.path.startswith("/response/"):
                    with server._lock:
                        server.responses.append(body)
                        server.calls.append(RecordedCall(self.path, body, True))
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.end_headers()
                    self.wfile.write(b"ok")
                else:
                    self.send_error(404)

            def _json(self, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _parse(raw: str, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if "json" in content_type:
        value = json.loads(raw)
        return value if isinstance(value, dict) else {}
    return {k: v[0] for k, v in parse_qs(raw).items()}


def _blocks(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        value = json.loads(value)
    return [b for b in value or [] if isinstance(b, dict)]
