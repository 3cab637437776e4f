"""P2 complete flow across features: health, HTTP API, WebSocket chat, routing."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pytest

from chatbackend.events import EVENT_ORDER
from tests.e2e.chat_client import chat, http_get

pytestmark = [pytest.mark.staging, pytest.mark.integration, pytest.mark.websocket]


def test_complete_flow_health_profile_chat(http_url: str, ws_url: str, auth_headers: dict[str, str]) -> None:
    health = http_get(f"{http_url}/health", auth_headers)
    assert health.status == 200
    profile = http_get(f"{http_url}/api/profile", auth_headers)
    assert profile.status == 200
    messages = chat(ws_url, auth_headers, f"hi, I am {profile.body['user']}", "complete-1")
    assert [m["type"] for m in messages] == list(EVENT_ORDER)


def test_token_in_query_string(ws_url: str, token: str, test_id: dict[str, str]) -> None:
    messages = chat(f"{ws_url}?token={token}", test_id, "10 / 4", "query-1")
    assert messages[-1]["data"]["answer"] == "2.5"


def test_unknown_path_is_404(http_url: str, test_id: dict[str, str]) -> None:
    parts = urlsplit(http_url)
    assert http_get(urlunsplit((parts.scheme, parts.netloc, "/no-such-route", "", "")), test_id).status == 404
