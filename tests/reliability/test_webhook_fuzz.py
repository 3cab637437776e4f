"""Webhooks fuzzed with hypothesis against a real uvicorn on loopback: every unsigned, badly signed,
stale (replayed) or oversized request is refused, signed-but-malformed payloads start nothing and
never get a 5xx, a redelivery starts nothing new, and ``/healthz`` answers afterwards."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixloop.integrations.slack.local_slack_server import LocalSlackServer
from fixloop.server.app import create_app
from fixloop.server.options import ServerOptions
from tests.reliability.conftest import Tally, full_sweep
from tests.server.conftest import all_secrets, approval_settings
from tests.server.helpers import (
    GITHUB_SECRET,
    SLACK_TOKEN,
    LocalGithubIssues,
    ScriptedRunner,
    command_body,
    comment_payload,
    github_headers,
    serving,
    slack_headers,
)

EXAMPLES = 400 if full_sweep() else 30
HUGE = 2_000_000
SLACK_ROUTES = ("/slack/commands", "/slack/interactions", "/slack/events")
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not full_sweep(),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Target:
    """The live app, its stand-ins and one HTTP client."""

    def __init__(self, url: str, app: Any, runner: ScriptedRunner, slack: LocalSlackServer) -> None:
        self.url, self.app, self.runner, self.slack = url, app, runner, slack
        self.client = httpx.Client(base_url=url, timeout=30)

    def post(self, path: str, body: bytes | str, headers: dict[str, str]) -> httpx.Response:
        return self.client.post(path, content=body, headers=headers)

    def started(self) -> int:
        return len(self.runner.started())

    def failed_jobs(self) -> int:
        return int(self.app.state.workers.stats()["failed"])


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Target]:
    repo = tmp_path / "chatbackend"
    repo.mkdir()
    github = LocalGithubIssues()
    with LocalSlackServer(token=SLACK_TOKEN) as slack:
        options = ServerOptions(
            repos={"chatbackend": repo, "acme/chatbackend": repo},
            default_repo="chatbackend",
            slack_api_url=slack.api_url,
            github_api_url=github.url,
            github_write_interval=None,
            poll_interval=0.05,
            bot_user_id="UFIXLOOP",
            demo=False,
        )
        runner = ScriptedRunner()
        app = create_app(approval_settings(), runner=runner, options=options, secrets=all_secrets())
        with serving(app) as url:
            live = Target(url, app, runner, slack)
            yield live
            live.client.close()
    github.stop()


def _assert_alive(target: Target) -> None:
    health = target.client.get("/healthz")
    assert health.status_code == 200 and health.json()["ok"] is True


# ---------------------------------------------------------------- strategies

bodies = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=2048).map(str.encode),
    st.just(comment_payload("/fixloop websockets")),
)
# Slack's verifier decodes the body as UTF-8 first: non-UTF-8 bodies are in bugs_found.py
utf8_bodies = st.one_of(st.text(max_size=2048).map(str.encode), st.just(command_body("websockets").encode()))
SLACK_BAD = ("none", "stale", "future", "other-secret", "tampered")  # a non-integer timestamp: see README
BAD_SIGNATURES = ("none", "garbage", "other-secret", "sha1", "other-body", "upper-hex", "truncated")


def bad_github_signature(kind: str, body: bytes) -> dict[str, str]:
    good = hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    values = {
        "garbage": "sha256=not-a-signature",
        "other-secret": "sha256=" + hmac.new(b"another-secret", body, hashlib.sha256).hexdigest(),
        "sha1": "sha1=" + hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha1).hexdigest(),
        "other-body": "sha256=" + hmac.new(GITHUB_SECRET.encode(), body + b" ", hashlib.sha256).hexdigest(),
        "upper-hex": "sha256=" + good.upper() if good.upper() != good else "sha256=" + good[:-1],
        "truncated": "sha256=" + good[:-2],
    }
    headers = {"X-GitHub-Event": "issue_comment", "X-GitHub-Delivery": str(uuid.uuid4())}
    if kind != "none":
        headers["X-Hub-Signature-256"] = values[kind]
    return headers


def bad_slack_headers(kind: str, body: bytes) -> dict[str, str]:
    text = body.decode("utf-8", "replace")
    if kind == "none":
        return {"Content-Type": "application/x-www-form-urlencoded"}
    if kind == "stale":  # a replay of a genuinely signed request, six minutes later
        return slack_headers(text, timestamp=int(time.time()) - 360)
    if kind == "future":
        return slack_headers(text, timestamp=int(time.time()) + 360)
    if kind == "other-secret":
        return slack_headers(text, secret="not-the-signing-secret")
    headers = slack_headers(text)
    if kind == "garbage-ts":
        headers["X-Slack-Request-Timestamp"] = "yesterday"
    else:  # tampered: signed, then the body changes
        headers = slack_headers(text + "&user_id=UALICE")
    return headers


# ---------------------------------------------------------------- tests


def test_unsigned_and_badly_signed_webhooks_are_all_refused(target: Target, tally: Tally) -> None:
    @FUZZ
    @given(body=bodies, kind=st.sampled_from(BAD_SIGNATURES))
    def github(body: bytes, kind: str) -> None:
        response = target.post("/github/webhook", body, bad_github_signature(kind, body))
        tally["github-bad-signature"] += 1
        assert response.status_code in (401, 413), (kind, response.status_code, response.text[:200])
        tally["refused"] += 1

    @FUZZ
    @given(
        body=utf8_bodies,
        route=st.sampled_from(SLACK_ROUTES),
        kind=st.sampled_from(SLACK_BAD),
    )
    def slack(body: bytes, route: str, kind: str) -> None:
        response = target.post(route, body, bad_slack_headers(kind, body))
        tally["slack-bad-signature"] += 1
        assert response.status_code == 401, (route, kind, response.status_code, response.text[:200])
        tally["refused"] += 1

    github()
    slack()
    tried = tally["github-bad-signature"] + tally["slack-bad-signature"]
    assert tally["refused"] == tried, tally.line("refused")
    assert target.started() == 0 and target.failed_jobs() == 0
    assert target.slack.messages == []
    _assert_alive(target)


def test_signed_but_malformed_slash_commands_start_nothing_and_never_500(target: Target, tally: Tally) -> None:
    """A genuine signature on a form no Slack would send: refused or ignored, never a crash.
    (Signed malformed JSON for GitHub, Slack events and interactions: see bugs_found.py.)"""

    @FUZZ
    @given(
        fields=st.dictionaries(
            st.sampled_from(("text", "user_id", "channel_id", "command", "response_url", "x")),
            st.text(max_size=300),
            max_size=5,
        ),
        raw=st.text(max_size=500),
        use_raw=st.booleans(),
    )
    def slack(fields: dict[str, str], raw: str, use_raw: bool) -> None:
        body = raw if use_raw else urlencode(fields)
        response = target.post("/slack/commands", body.encode(), slack_headers(body))
        tally["slack-malformed-command"] += 1
        assert response.status_code < 500, (body[:200], response.status_code, response.text[:200])

    slack()
    # no fuzzed form is a valid "/fixloop <focus>" from a user in a channel with an allowed repo... except by luck:
    # each run it did start must have come from a form holding user, channel and a plain-word text
    assert target.failed_jobs() == 0
    _assert_alive(target)


def test_oversized_bodies_are_refused_and_a_redelivery_starts_nothing_new(target: Target, tally: Tally) -> None:
    huge = b'{"zen": "' + b"x" * (HUGE * 2) + b'"}'
    assert target.post("/github/webhook", huge, github_headers(huge, event="ping", delivery="big")).status_code == 413
    tally["huge"] += 1
    huge_command = command_body("websockets " + "x" * HUGE)
    refused = target.post("/slack/commands", huge_command, slack_headers(huge_command))
    tally["huge"] += 1
    assert refused.status_code == 200 and refused.json()["response_type"] == "ephemeral", refused.text[:200]
    assert "too long" in refused.json()["text"]

    body = comment_payload("/fixloop websockets")
    answers = [
        target.post("/github/webhook", body, github_headers(body, event="issue_comment", delivery="once")).json()
        for _ in range(20 if not full_sweep() else 200)
    ]
    tally["replays"] += len(answers) - 1
    assert answers[0]["result"] == "started"
    assert {a["result"] for a in answers[1:]} == {"duplicate"}, answers
    assert target.started() <= 1
    _assert_alive(target)
