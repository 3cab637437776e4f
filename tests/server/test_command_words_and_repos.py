"""Chat words that are commands never start a run; GitHub repositories match by full ``owner/name``
(issue #17, point 6)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest

from fixloop.server.options import ServerOptions
from tests.server.conftest import LiveFactory
from tests.server.helpers import command_body, comment_payload, github_headers, slack_headers, wait_until


@pytest.mark.parametrize(
    "text", ["status", "help", "approve", "reject the fix", "stop", "why server-error-1", "STATUS"]
)
def test_a_command_word_as_a_slash_command_answers_and_starts_nothing(live: LiveFactory, text: str) -> None:
    with live() as server:
        body = command_body(text)
        answer = httpx.post(f"{server.url}/slack/commands", content=body, headers=slack_headers(body))
        assert answer.status_code == 200 and answer.json()["response_type"] == "ephemeral", answer.text
        expected = "Active fixloop runs" if text.lower() == "status" else "is answered in a run's thread"
        assert expected in answer.json()["text"]
        assert server.scripted.started() == []
        assert server.app.state.workers.stats()["runs_submitted"] == 0


def test_slash_status_lists_the_active_runs(live: LiveFactory) -> None:
    with live() as server:
        start = command_body("websockets")
        thread_id = httpx.post(f"{server.url}/slack/commands", content=start, headers=slack_headers(start)).json()
        wait_until(lambda: server.scripted.started(), what="the run")
        body = command_body("status")
        answer = httpx.post(f"{server.url}/slack/commands", content=body, headers=slack_headers(body)).json()
        assert thread_id["text"].split("`")[1] in answer["text"] and "websockets on chatbackend" in answer["text"]


def test_a_command_word_in_a_comment_starts_nothing(live: LiveFactory) -> None:
    with live() as server:
        for text in ("/fixloop help", "/fixloop why", "/fixloop Status"):
            body = comment_payload(text)
            headers = github_headers(body, event="issue_comment", delivery=str(uuid.uuid4()))
            result = httpx.post(f"{server.url}/github/webhook", content=body, headers=headers).json()["result"]
            assert result in ("help", "no-run"), (text, result)
        wait_until(lambda: len(server.github.comments) == 3, what="three answers")
        assert server.scripted.started() == []


def test_a_short_allow_list_entry_never_matches_a_webhook_from_any_owner(live: LiveFactory, tmp_path: Path) -> None:
    with live(repos={"demo": tmp_path, "acme/chatbackend": tmp_path}, default_repo="demo") as server:
        for full_name in ("any-owner/demo", "demo", "evil/acme/chatbackend", "ACME/ChatBackend"):
            payload = json.loads(comment_payload("/fixloop websockets", repo=full_name))
            body = json.dumps(payload).encode()
            headers = github_headers(body, event="issue_comment", delivery=str(uuid.uuid4()))
            answer = httpx.post(f"{server.url}/github/webhook", content=body, headers=headers).json()
            expected = "started" if full_name == "ACME/ChatBackend" else "ignored"  # GitHub names ignore case
            assert answer["result"] == expected, (full_name, answer)
        started = wait_until(lambda: server.scripted.started(), what="the acme run")
        assert len(started) == 1


def test_github_repo_matching_is_by_owner_and_name(tmp_path: Path) -> None:
    options = ServerOptions(repos={"demo": tmp_path, "acme/chat": tmp_path}, demo=False)
    assert options.github_repo("acme/chat") == "acme/chat"
    assert options.github_repo("Acme/Chat") == "acme/chat"
    assert options.github_repo("any-owner/demo") is None
    assert options.github_repo("demo") is None
    assert options.github_repo("other/chat") is None
