"""P4 critical user path: health, login, chat, answer — what a paying user does first."""

from __future__ import annotations

import time

import pytest

from chatbackend.auth import issue_token
from chatbackend.events import EVENT_ORDER
from tests.e2e.chat_client import chat, http_get

pytestmark = [pytest.mark.staging, pytest.mark.websocket, pytest.mark.critical]


def test_critical_user_chat_path(http_url: str, ws_url: str, auth_headers: dict[str, str]) -> None:
    assert http_get(f"{http_url}/health", auth_headers).status == 200
    messages = chat(ws_url, auth_headers, "what is 2 + 2", "critical-1")
    assert [m["type"] for m in messages] == list(EVENT_ORDER)
    assert messages[-1]["data"]["answer"] == "4"


def test_critical_login_from_skewed_client(ws_url: str, jwt_secret: str, test_id: dict[str, str]) -> None:
    token = issue_token(jwt_secret, "mobile-user", now=time.time() + 8)
    messages = chat(ws_url, {"Authorization": f"Bearer {token}", **test_id}, "3 * 3", "critical-2")
    assert messages[-1]["data"]["answer"] == "9"
