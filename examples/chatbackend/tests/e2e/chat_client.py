"""A small client for the e2e suite: HTTP GETs and WebSocket chats with short timeouts."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from websockets.sync.client import ClientConnection, connect

from chatbackend.events import AGENT_COMPLETED

HTTP_TIMEOUT = 3.0
OPEN_TIMEOUT = 3.0
EVENT_TIMEOUT = 4.0  # a whole agent run must finish within this


@dataclass
class HttpResult:
    status: int
    body: dict[str, Any]


def http_get(url: str, headers: dict[str, str] | None = None) -> HttpResult:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            return HttpResult(response.status, json.loads(response.read() or b"{}"))
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"raw": raw.decode(errors="replace")}
        return HttpResult(exc.code, body)


def open_chat(ws_url: str, headers: dict[str, str]) -> ClientConnection:
    return connect(ws_url, additional_headers=headers, open_timeout=OPEN_TIMEOUT, close_timeout=1.0)


def send_chat(ws: ClientConnection, text: str, message_id: str) -> None:
    ws.send(json.dumps({"type": "chat", "text": text, "id": message_id}))


def collect_run(ws: ClientConnection, timeout: float = EVENT_TIMEOUT) -> list[dict[str, Any]]:
    """Receive messages until ``agent_completed`` (or an error), failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    received: list[dict[str, Any]] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no {AGENT_COMPLETED} within {timeout} s; got {[m.get('type') for m in received]}")
        message = json.loads(ws.recv(timeout=remaining))
        received.append(message)
        if message.get("type") in (AGENT_COMPLETED, "error"):
            return received


def chat(ws_url: str, headers: dict[str, str], text: str, message_id: str = "m1") -> list[dict[str, Any]]:
    """Open a connection, send one chat message and return the messages of its run."""
    with open_chat(ws_url, headers) as ws:
        send_chat(ws, text, message_id)
        return collect_run(ws)
