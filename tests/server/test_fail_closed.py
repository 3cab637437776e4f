"""A route whose secret is not configured refuses everything and starts nothing."""

from __future__ import annotations

import logging

import httpx
import pytest

from fixloop.server.secrets import SecretNames, ServerSecrets
from tests.server.conftest import LiveFactory
from tests.server.helpers import (
    API_TOKEN,
    GITHUB_SECRET,
    SLACK_SECRET,
    click_body,
    command_body,
    comment_payload,
    github_headers,
    slack_headers,
)


def test_with_no_secrets_every_route_refuses_and_nothing_starts(
    live: LiveFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="fixloop.server")
    with live(secrets=ServerSecrets.from_env(env={})) as server:
        body = command_body("websockets")
        click = click_body("fixloop_approve", "slack-x", user="UALICE", channel="C", message_ts="1", response_url="")
        gh = comment_payload("/fixloop websockets")
        answers = [
            httpx.post(f"{server.url}/slack/commands", content=body, headers=slack_headers(body)),
            httpx.post(f"{server.url}/slack/interactions", content=click, headers=slack_headers(click)),
            httpx.post(f"{server.url}/slack/events", content="{}", headers=slack_headers("{}")),
            httpx.post(
                f"{server.url}/github/webhook",
                content=gh,
                headers=github_headers(gh, event="issue_comment", delivery="d"),
            ),
            httpx.get(f"{server.url}/runs", headers={"Authorization": f"Bearer {API_TOKEN}"}),
            httpx.get(f"{server.url}/runs/slack-x", headers={"Authorization": f"Bearer {API_TOKEN}"}),
            httpx.get(f"{server.url}/runs/slack-x/events", headers={"Authorization": f"Bearer {API_TOKEN}"}),
        ]
        assert [a.status_code for a in answers] == [403] * 7
        assert "SLACK_SIGNING_SECRET" in answers[0].json()["error"]
        assert "GITHUB_WEBHOOK_SECRET" in answers[3].json()["error"]
        assert httpx.get(f"{server.url}/healthz").json()["ok"] is True
        assert server.app.state.workers.stats() == {
            "runs_submitted": 0,
            "runs_pending": 0,
            "chat_submitted": 0,
            "chat_pending": 0,
            "failed": 0,
        }
        assert server.scripted.started() == []
        assert server.slack.calls == [] and server.github.comments == []
    disabled = [r.getMessage() for r in caplog.records if "DISABLED" in r.getMessage()]
    assert len([d for d in disabled if d.startswith("route ")]) == 7
    assert any(d.startswith("run pages DISABLED") for d in disabled)  # no token and no page user: no way in
    assert any("POST /github/webhook DISABLED: GITHUB_WEBHOOK_SECRET, GITHUB_TOKEN not set" in d for d in disabled)


def test_a_half_configured_slack_stays_closed(live: LiveFactory) -> None:
    only_signing = ServerSecrets.from_env(env={"SLACK_SIGNING_SECRET": SLACK_SECRET, "GITHUB_WEBHOOK_SECRET": ""})
    assert not only_signing.slack_enabled and not only_signing.github_enabled
    with live(secrets=only_signing) as server:
        body = command_body("websockets")
        response = httpx.post(f"{server.url}/slack/commands", content=body, headers=slack_headers(body))
        assert response.status_code == 403 and "SLACK_BOT_TOKEN" in response.json()["error"]


def test_secret_env_names_are_configurable_and_values_never_logged() -> None:
    names = SecretNames(slack_signing_secret="MY_SLACK_SIGNING", github_webhook_secret="MY_HOOK")
    secrets = ServerSecrets.from_env(
        names, env={"MY_SLACK_SIGNING": SLACK_SECRET, "MY_HOOK": GITHUB_SECRET, "SLACK_SIGNING_SECRET": "ignored"}
    )
    assert secrets.slack_signing_secret == SLACK_SECRET and secrets.github_webhook_secret == GITHUB_SECRET
    lines = secrets.disabled_routes()
    assert any("SLACK_BOT_TOKEN, FIXLOOP_BUTTON_KEY not set" in line for line in lines)
    assert not any(SLACK_SECRET in line or GITHUB_SECRET in line for line in lines)


def test_the_runs_api_wants_the_bearer_token(live: LiveFactory) -> None:
    with live() as server:
        assert httpx.get(f"{server.url}/runs").status_code == 401
        assert httpx.get(f"{server.url}/runs", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = httpx.get(f"{server.url}/runs", headers={"Authorization": f"Bearer {API_TOKEN}"})
        assert ok.status_code == 200 and ok.json() == {"runs": []}
