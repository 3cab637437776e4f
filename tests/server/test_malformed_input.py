"""Bad input to the webhooks gets a clear 4xx and starts nothing, never a 500.

Moved here from ``tests/reliability/bugs_found.py`` once fixed: a non-integer Slack timestamp,
a non-UTF-8 unsigned Slack body, signed GitHub payloads of the wrong shape (or with no issue
number), and signed Slack JSON that is not an object.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.server.conftest import LiveFactory, LiveServer
from tests.server.helpers import comment_payload, github_headers, slack_headers


def _comment_with(path: str, value: Any) -> bytes:
    payload: Any = json.loads(comment_payload("/fixloop websockets"))
    keys = path.split(".")
    holder = payload
    for key in keys[:-1]:
        holder = holder[key]
    holder[keys[-1]] = value
    return json.dumps(payload).encode()


def _started_nothing(server: LiveServer) -> None:
    assert server.scripted.started() == []
    assert server.app.state.workers.stats()["runs_submitted"] == 0


def test_slack_signature_with_a_non_integer_timestamp_is_401(live: LiveFactory) -> None:
    with live() as server:
        headers = slack_headers("text=x")
        headers["X-Slack-Request-Timestamp"] = "yesterday"
        response = httpx.post(f"{server.url}/slack/commands", content="text=x", headers=headers)
        assert response.status_code == 401, response.text
        assert "Slack signature" in response.json()["error"]
        _started_nothing(server)


def test_a_non_utf8_slack_body_with_a_bad_signature_is_401(live: LiveFactory) -> None:
    with live() as server:
        headers = slack_headers("x", secret="not-the-secret")
        response = httpx.post(f"{server.url}/slack/commands", content=b"\x80", headers=headers)
        assert response.status_code == 401, response.text
        _started_nothing(server)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [("issue", None, "issue"), ("issue", [], "issue"), ("issue", {}, "issue.number"),
     ("issue.number", None, "issue.number"), ("issue.number", "7x", "issue.number"),
     ("issue.number", 0, "issue.number"), ("sender", "mallory", "sender"),
     ("repository", ["x"], "repository"), ("comment", "text", "comment")],
)  # fmt: skip
def test_signed_github_payloads_of_the_wrong_shape_are_422_and_start_nothing(
    live: LiveFactory, path: str, value: Any, field: str
) -> None:
    with live() as server:
        body = _comment_with(path, value)
        headers = github_headers(body, event="issue_comment", delivery=str(uuid.uuid4()))
        response = httpx.post(f"{server.url}/github/webhook", content=body, headers=headers)
        assert response.status_code == 422, response.text[:200]
        error = response.json()["error"]
        assert error.startswith(f"payload of the wrong shape: {field}"), error
        assert "\n" not in error
        _started_nothing(server)
        assert server.github.comments == []


def test_a_well_formed_signed_comment_still_starts_a_run(live: LiveFactory) -> None:
    """The shape check lets a real GitHub payload through (the control for the test above)."""
    with live() as server:
        body = comment_payload("/fixloop websockets", number=12)
        headers = github_headers(body, event="issue_comment", delivery=str(uuid.uuid4()))
        response = httpx.post(f"{server.url}/github/webhook", content=body, headers=headers)
        assert response.status_code == 202 and response.json()["result"] == "started", response.text


@pytest.mark.parametrize(
    ("route", "body"),
    [("/slack/events", "[1, 2]"), ("/slack/events", '"text"'), ("/slack/events", '{"type": 3}'),
     ("/slack/events", '{"type": "event_callback", "event": {"type": "app_mention", "thread_ts": ["1"]}}'),
     ("/slack/interactions", "payload=%5B1%5D"),
     ("/slack/interactions", "payload=" + '{"type": "block_actions", "actions": "approve"}'.replace('"', "%22"))],
)  # fmt: skip
def test_signed_slack_json_of_the_wrong_shape_is_400_and_starts_nothing(
    live: LiveFactory, route: str, body: str
) -> None:
    with live() as server:
        response = httpx.post(
            f"{server.url}{route}", content=body, headers=slack_headers(body, timestamp=int(time.time()))
        )
        assert response.status_code == 400, response.text[:200]
        assert response.json()["error"].startswith("payload of the wrong shape:")
        _started_nothing(server)
        assert server.slack.calls == []
