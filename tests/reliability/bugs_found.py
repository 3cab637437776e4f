"""Bugs the reliability suite found in code it does not own: each test here FAILS on the code as it is.

Not collected by the normal run (the file name does not start with ``test_``); run it on purpose:

    /work/venv/bin/python -m pytest tests/reliability/bugs_found.py -p no:cacheprovider

Move a test into the suite once its bug is fixed (see tests/reliability/README.md).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from tests.reliability.test_webhook_fuzz import Target, target  # noqa: F401  (the fixture)
from tests.server.helpers import comment_payload, github_headers, slack_headers


def _comment_with(path: str, value: Any) -> bytes:
    payload: Any = json.loads(comment_payload("/fixloop websockets"))
    keys = path.split(".")
    holder = payload
    for key in keys[:-1]:
        holder = holder[key]
    holder[keys[-1]] = value
    return json.dumps(payload).encode()


def test_slack_signature_with_a_non_integer_timestamp_is_401_not_500(target: Target) -> None:  # noqa: F811
    """slack_routes._verified: slack_sdk's SignatureVerifier raises ValueError on int('yesterday')."""
    headers = slack_headers("text=x")
    headers["X-Slack-Request-Timestamp"] = "yesterday"
    assert target.post("/slack/commands", "text=x", headers).status_code == 401


def test_a_non_utf8_slack_body_with_a_bad_signature_is_401_not_500(target: Target) -> None:  # noqa: F811
    """slack_routes._verified: the verifier decodes the body as UTF-8 first (UnicodeDecodeError)."""
    headers = slack_headers("x", secret="not-the-secret")
    assert target.post("/slack/commands", b"\x80", headers).status_code == 401


@pytest.mark.parametrize(
    ("path", "value"),
    [("issue", None), ("issue", []), ("issue.number", None), ("issue.number", "7x"), ("sender", "mallory"),
     ("repository", ["x"]), ("comment", "text")],
)  # fmt: skip
def test_signed_github_payloads_of_the_wrong_shape_are_4xx_not_500(target: Target, path: str, value: Any) -> None:  # noqa: F811
    """github_routes.webhook/_command index ``payload['issue']``, ``sender``, ``repository`` without type checks."""
    body = _comment_with(path, value)
    response = target.post(
        "/github/webhook", body, github_headers(body, event="issue_comment", delivery=str(uuid.uuid4()))
    )
    assert response.status_code < 500, response.text[:200]


def test_a_signed_github_comment_without_an_issue_number_starts_nothing(target: Target) -> None:  # noqa: F811
    """github_routes._command: ``int(payload['issue'].get('number', 0))`` binds a run to issue #0."""
    body = _comment_with("issue", {})
    response = target.post("/github/webhook", body, github_headers(body, event="issue_comment", delivery="no-number"))
    assert response.json().get("result") not in ("started", "joined"), response.text


@pytest.mark.parametrize("route", ["/slack/events", "/slack/interactions"])
def test_signed_slack_json_that_is_not_an_object_is_4xx_not_500(target: Target, route: str) -> None:  # noqa: F811
    """slack_routes.events/interactions call ``payload.get`` on whatever JSON came (a list -> AttributeError)."""
    body = "[1, 2]" if route == "/slack/events" else "payload=%5B1%5D"
    response = target.post(route, body, slack_headers(body, timestamp=int(time.time())))
    assert response.status_code < 500, response.text[:200]
