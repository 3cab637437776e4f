"""P3 agent pipeline over WebSocket: tool choice, tool results, final answers."""

from __future__ import annotations

import pytest

from chatbackend.events import AGENT_COMPLETED, TOOL_COMPLETED, TOOL_EXECUTING
from tests.e2e.chat_client import chat

pytestmark = [pytest.mark.staging, pytest.mark.websocket, pytest.mark.agent]


def _by_type(messages: list[dict]) -> dict[str, dict]:
    return {m["type"]: m for m in messages}


def test_agent_calculator_pipeline(ws_url: str, auth_headers: dict[str, str]) -> None:
    events = _by_type(chat(ws_url, auth_headers, "please compute 12 - 5", "calc-1"))
    assert events[TOOL_EXECUTING]["data"] == {"tool": "calculator", "input": "12 - 5"}
    assert events[TOOL_COMPLETED]["data"]["result"] == "7"
    assert events[AGENT_COMPLETED]["data"]["answer"] == "7"


def test_agent_tool_failure_is_reported(ws_url: str, auth_headers: dict[str, str]) -> None:
    events = _by_type(chat(ws_url, auth_headers, "1 / 0", "calc-2"))
    assert events[TOOL_COMPLETED]["data"]["ok"] is False
    assert "division by zero" in events[AGENT_COMPLETED]["data"]["answer"]


def test_agent_events_share_one_run_id(ws_url: str, auth_headers: dict[str, str]) -> None:
    messages = chat(ws_url, auth_headers, "echo me", "run-1")
    run_ids = {m["run_id"] for m in messages}
    assert len(run_ids) == 1
    assert next(iter(run_ids)).startswith("run-")
