"""P2 WebSocket messaging: the message schema, errors, several messages on one connection."""

from __future__ import annotations

import json

import pytest

from chatbackend.events import AGENT_COMPLETED, AGENT_STARTED, EVENT_ORDER
from tests.e2e.chat_client import chat, collect_run, open_chat, send_chat

pytestmark = [pytest.mark.staging, pytest.mark.websocket]


def test_chat_echo_roundtrip(ws_url: str, auth_headers: dict[str, str]) -> None:
    messages = chat(ws_url, auth_headers, "hello there", "echo-1")
    assert messages[0]["type"] == AGENT_STARTED
    assert messages[-1]["type"] == AGENT_COMPLETED
    assert messages[-1]["data"]["answer"] == "hello there"


def test_invalid_message_gets_schema_error(ws_url: str, auth_headers: dict[str, str]) -> None:
    with open_chat(ws_url, auth_headers) as ws:
        ws.send(json.dumps({"type": "shout", "text": "hi"}))
        error = json.loads(ws.recv(timeout=3))
        assert error["type"] == "error"
        assert error["error"]["code"] == "bad_message"
        send_chat(ws, "still there?", "after-error")  # the connection survives a bad message
        assert collect_run(ws)[-1]["type"] == AGENT_COMPLETED


def test_multiple_messages_same_connection(ws_url: str, auth_headers: dict[str, str]) -> None:
    with open_chat(ws_url, auth_headers) as ws:
        runs = []
        for n in range(3):
            send_chat(ws, f"{n} + 1", f"multi-{n}")
            runs.append(collect_run(ws))
    assert [run[-1]["data"]["answer"] for run in runs] == ["1", "2", "3"]
    assert all([m["type"] for m in run] == list(EVENT_ORDER) for run in runs)
    assert len({run[0]["run_id"] for run in runs}) == 3


def test_message_id_is_echoed_on_every_event(ws_url: str, auth_headers: dict[str, str]) -> None:
    messages = chat(ws_url, auth_headers, "ping", "id-42")
    assert {m["request_id"] for m in messages} == {"id-42"}
