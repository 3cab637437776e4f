"""P1 core WebSocket e2e: health, connection, auth at the handshake, the five agent events, concurrency."""

from __future__ import annotations

import random
import threading
import time

import pytest
from websockets.exceptions import InvalidStatus

from chatbackend.auth import issue_token
from chatbackend.events import AGENT_COMPLETED, EVENT_ORDER
from tests.e2e.chat_client import chat, collect_run, http_get, open_chat, send_chat

pytestmark = [pytest.mark.staging, pytest.mark.websocket]


def test_health_check(http_url: str, test_id: dict[str, str]) -> None:
    result = http_get(f"{http_url}/health", test_id)
    assert result.status == 200
    assert result.body["status"] == "ok"
    assert result.body["revision"]


def test_websocket_connection(ws_url: str, auth_headers: dict[str, str]) -> None:
    with open_chat(ws_url, auth_headers) as ws:
        ws.ping().wait(3)
        assert ws.protocol.state.name == "OPEN"


def test_websocket_auth_validation(ws_url: str, jwt_secret: str, test_id: dict[str, str]) -> None:
    refused = {
        "no token": dict(test_id),
        "wrong secret": {
            "Authorization": f"Bearer {issue_token('not-the-secret-this-server-verifies-with', 'e2e-user')}",
            **test_id,
        },
        "expired": {
            "Authorization": f"Bearer {issue_token(jwt_secret, 'e2e-user', now=time.time() - 3600)}",
            **test_id,
        },
    }
    for case, headers in refused.items():
        with pytest.raises(InvalidStatus) as info:
            open_chat(ws_url, headers).close()
        assert info.value.response.status_code in (401, 403), case


def test_websocket_clock_skew_tolerated(ws_url: str, jwt_secret: str, test_id: dict[str, str]) -> None:
    """A client whose clock runs a few seconds ahead still gets in (tokens carry a future iat/nbf)."""
    skewed = issue_token(jwt_secret, "e2e-user", now=time.time() + 5)
    with open_chat(ws_url, {"Authorization": f"Bearer {skewed}", **test_id}) as ws:
        ws.ping().wait(3)


def test_websocket_event_flow_real(ws_url: str, auth_headers: dict[str, str]) -> None:
    messages = chat(ws_url, auth_headers, "what is 6 * 7?", "flow-1")
    assert [m["type"] for m in messages] == list(EVENT_ORDER)
    assert len({m["run_id"] for m in messages}) == 1
    assert all(m["request_id"] == "flow-1" for m in messages)
    assert messages[-1]["data"]["answer"] == "42"


def test_concurrent_websocket_real(ws_url: str, auth_headers: dict[str, str]) -> None:
    """Three users chat at once; each gets exactly its own run and its own answer."""
    answers: dict[int, object] = {}

    def one_client(n: int) -> None:
        try:
            with open_chat(ws_url, auth_headers) as ws:
                time.sleep(random.uniform(0, 0.4))  # real users do not type in lockstep
                send_chat(ws, f"{n} + {n * 10}", f"c{n}")
                run = collect_run(ws)
                answers[n] = (run[-1]["type"], run[-1]["data"].get("answer"), len(run))
        except Exception as exc:  # reported below, in the test thread
            answers[n] = exc

    threads = [threading.Thread(target=one_client, args=(n,)) for n in (1, 2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    for n in (1, 2, 3):
        assert answers.get(n) == (AGENT_COMPLETED, str(n * 11), len(EVENT_ORDER)), f"client {n}: {answers.get(n)}"
