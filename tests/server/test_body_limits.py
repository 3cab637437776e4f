"""Bounded input (issue #17, points 3 and 4): bodies are capped while they are read, before the
signature check; signed JSON nested too deeply or not UTF-8 is a 400, never a 500."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from fixloop.server.body import GITHUB_MAX_BODY, SLACK_MAX_BODY
from tests.server.conftest import LiveFactory, LiveServer
from tests.server.helpers import SLACK_SECRET, command_body, comment_payload, github_headers, slack_headers

SLACK_ROUTES = ("/slack/commands", "/slack/interactions", "/slack/events")
DEEP = 100_000  # levels: the standard library's json raised RecursionError (a 500) from about 1,000


def _nothing_happened(server: LiveServer) -> None:
    assert server.scripted.started() == [] and server.scripted.calls == []
    assert server.app.state.workers.stats()["runs_submitted"] == 0
    assert server.app.state.workers.stats()["failed"] == 0
    assert server.slack.calls == [] and server.github.comments == []


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    for _ in range(total // size):
        yield b"x" * size


@pytest.mark.parametrize("route", [*SLACK_ROUTES, "/github/webhook"])
def test_an_unsigned_body_over_the_cap_is_413_whether_declared_or_streamed(live: LiveFactory, route: str) -> None:
    cap = GITHUB_MAX_BODY if route.startswith("/github") else SLACK_MAX_BODY
    with live() as server:
        declared = httpx.post(f"{server.url}{route}", content=b"x" * (cap + 1), timeout=30)
        assert declared.status_code == 413, declared.text[:200]
        assert "payload too large" in declared.json()["error"]
        # no Content-Length (chunked): refused at the first chunk past the cap
        streamed = httpx.post(f"{server.url}{route}", content=_chunks(8 * cap), timeout=30)
        assert streamed.status_code == 413, streamed.text[:200]
        _nothing_happened(server)
        assert httpx.get(f"{server.url}/healthz").json()["ok"] is True


def test_a_signed_body_just_under_the_cap_is_still_read(live: LiveFactory) -> None:
    with live() as server:
        body = command_body("websockets " + "x" * (SLACK_MAX_BODY - 200))
        assert len(body) <= SLACK_MAX_BODY
        answer = httpx.post(f"{server.url}/slack/commands", content=body, headers=slack_headers(body))
        assert answer.status_code == 200 and "too long" in answer.json()["text"]


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/slack/events", "[" * DEEP + "]" * DEEP),
        ("/slack/events", '{"type": "event_callback", "event": ' + '{"a": ' * 20_000 + "1" + "}" * 20_000 + "}"),
        ("/slack/interactions", "payload=" + quote("[" * 5_000 + "]" * 5_000)),
    ],
)
def test_signed_slack_json_nested_too_deeply_is_400(live: LiveFactory, route: str, body: str) -> None:
    with live() as server:
        answer = httpx.post(f"{server.url}{route}", content=body, headers=slack_headers(body), timeout=30)
        assert answer.status_code == 400, answer.text[:200]
        assert "nested too deeply" in answer.json()["error"]
        _nothing_happened(server)


def test_signed_github_json_nested_too_deeply_is_400(live: LiveFactory) -> None:
    with live() as server:
        body = b'{"issue": ' + b"[" * DEEP + b"]" * DEEP + b"}"
        headers = github_headers(body, event="issue_comment", delivery=str(uuid.uuid4()))
        answer = httpx.post(f"{server.url}/github/webhook", content=body, headers=headers, timeout=30)
        assert answer.status_code == 400 and "nested too deeply" in answer.json()["error"], answer.text[:200]
        _nothing_happened(server)


def test_signed_bodies_that_are_not_utf8_are_400_and_their_delivery_is_not_burnt(live: LiveFactory) -> None:
    with live() as server:
        latin1 = comment_payload("/fixloop websockets").replace(b"websockets", b"caf\xe9")  # Latin-1 é
        headers = github_headers(latin1, event="issue_comment", delivery="d-latin1")
        answer = httpx.post(f"{server.url}/github/webhook", content=latin1, headers=headers)
        assert answer.status_code == 400 and "not UTF-8" in answer.json()["error"], answer.text
        utf16 = comment_payload("/fixloop websockets").decode().encode("utf-16")  # json.loads would guess this one
        headers = github_headers(utf16, event="issue_comment", delivery="d-utf16")
        assert httpx.post(f"{server.url}/github/webhook", content=utf16, headers=headers).status_code == 400
        slack_body = b"text=caf\xe9&user_id=UALICE&channel_id=C1"
        signed = slack_headers("ignored")
        stamp = signed["X-Slack-Request-Timestamp"]
        mac = hmac.new(SLACK_SECRET.encode(), b"v0:" + stamp.encode() + b":" + slack_body, hashlib.sha256)
        signed["X-Slack-Signature"] = "v0=" + mac.hexdigest()  # slack_sdk cannot sign bytes that are not UTF-8
        answer = httpx.post(f"{server.url}/slack/commands", content=slack_body, headers=signed)
        assert answer.status_code == 400 and "not UTF-8" in answer.json()["error"], answer.text
        _nothing_happened(server)
        good = comment_payload("/fixloop websockets")
        again = httpx.post(
            f"{server.url}/github/webhook",
            content=good,
            headers=github_headers(good, event="issue_comment", delivery="d-latin1"),
        )
        assert again.json()["result"] == "started", again.text
