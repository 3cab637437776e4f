"""Approvals are bound to what they approve (issue #17, points 1 and 2): each reproduction, now refused.

GitHub: an approval names the PR head commit, is taken once per comment id, and is void once the head
moved. Slack: a signature is taken once inside its window, a button only counts on the message the
server signed it for, and a ``response_url`` is only followed to Slack.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx

from fixloop.integrations.slack.blocks import APPROVE_ACTION, REJECT_ACTION
from fixloop.integrations.slack.local_slack_server import LocalSlackServer, SlackMessage
from fixloop.server.buttons import ButtonSigner
from tests.server.conftest import LiveFactory, LiveServer
from tests.server.helpers import (
    HEAD_SHA,
    button_value,
    click_body,
    command_body,
    comment_payload,
    github_headers,
    slack_headers,
    wait_until,
)

REPO = "acme/chatbackend"
NEW_HEAD = "0123456789abcdef0123456789abcdef01234567"


def deliver(server: LiveServer, body: bytes, *, delivery: str | None = None) -> httpx.Response:
    headers = github_headers(body, event="issue_comment", delivery=delivery or str(uuid.uuid4()))
    return httpx.post(f"{server.url}/github/webhook", content=body, headers=headers, timeout=10)


def waiting_run(server: LiveServer) -> str:
    """A run started from issue #7 by carol, waiting for approval of PR #1 at HEAD_SHA."""
    thread_id = str(deliver(server, comment_payload("/fixloop websockets", login="carol")).json()["thread"])
    wait_until(lambda: any("Waiting for approval" in b for b in server.github.bodies(REPO, 7)), what="approval")
    return thread_id


def approvals(server: LiveServer) -> list[str]:
    return [kw["by"] for name, kw in server.scripted.calls if name == "approve"]


# ---------------------------------------------------------------- GitHub


def test_a_replayed_approval_comment_under_a_fresh_delivery_id_approves_nothing(live: LiveFactory) -> None:
    with live() as server:
        thread_id = waiting_run(server)
        comment = comment_payload(f"/fixloop approve {HEAD_SHA[:12]}", login="mallory-gh", comment_id=555)
        first = deliver(server, comment, delivery="delivery-1")
        assert first.json()["result"] == "approve"
        wait_until(lambda: approvals(server), what="the first approval attempt")
        replayed = deliver(server, comment, delivery="delivery-2")  # same signed body two minutes later
        assert replayed.status_code == 200 and replayed.json() == {"result": "duplicate", "comment": 555}
        time.sleep(0.3)
        assert approvals(server) == ["github:mallory-gh"]
        assert server.runner.status(thread_id)["status"] == "awaiting_approval"


def test_an_approval_without_a_commit_is_answered_with_the_command_to_confirm(live: LiveFactory) -> None:
    with live() as server:
        waiting_run(server)
        answer = deliver(server, comment_payload("/fixloop approve", login="alice-gh"))
        assert answer.json()["result"] == "confirm"
        said = wait_until(lambda: [b for b in server.github.bodies(REPO, 7) if "Nothing approved yet" in b], what="ask")
        assert f"`/fixloop approve {HEAD_SHA[:12]}`" in said[0] and "#1 at" in said[0]
        assert approvals(server) == []
        bad = deliver(server, comment_payload("/fixloop approve main", login="alice-gh"))
        assert bad.json()["result"] == "invalid"
        assert approvals(server) == []


def test_an_approval_naming_a_head_that_moved_is_refused_and_the_current_head_approves(live: LiveFactory) -> None:
    with live() as server:
        thread_id = waiting_run(server)
        server.scripted.move_head(thread_id, NEW_HEAD)  # a push to the PR after the approver looked
        deliver(server, comment_payload(f"/fixloop approve {HEAD_SHA[:12]}", login="alice-gh"))
        refusal = wait_until(
            lambda: [b for b in server.github.bodies(REPO, 7) if b.startswith(":no_entry: approve by alice refused")],
            what="the refusal",
        )
        assert f"#1 at {NEW_HEAD[:12]}" in refusal[0]
        assert server.runner.status(thread_id)["status"] == "awaiting_approval"
        (recorded,) = server.runner.status(thread_id)["approvals"]  # refused, and recorded as such
        assert recorded["decision"] == "refused" and recorded["by"] == "alice" and NEW_HEAD[:12] in recorded["reason"]
        deliver(server, comment_payload(f"/fixloop approve {NEW_HEAD[:7]}", login="alice-gh"))
        wait_until(lambda: server.runner.status(thread_id)["status"] == "green", what="the approved run")


def test_a_delivery_refused_before_it_parsed_is_not_marked_seen(live: LiveFactory) -> None:
    with live() as server:
        broken = b'{"action": "created", "issue": \xff}'
        headers = github_headers(broken, event="issue_comment", delivery="d-fixed-later")
        assert httpx.post(f"{server.url}/github/webhook", content=broken, headers=headers).status_code == 400
        fixed = deliver(server, comment_payload("/fixloop websockets"), delivery="d-fixed-later")
        assert fixed.json()["result"] == "started", fixed.text


# ---------------------------------------------------------------- Slack


def post_command(server: LiveServer, body: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{server.url}/slack/commands", content=body, headers=headers, timeout=10)


def test_a_signed_slack_request_is_taken_once_inside_its_window(live: LiveFactory) -> None:
    with live() as server:
        body = command_body("websockets", response_url=server.slack.response_url("cmd"))
        headers = slack_headers(body)
        first = post_command(server, body, headers)
        replayed = post_command(server, body, headers)  # a captured request, sent again within 5 minutes
        assert first.status_code == 200 and first.json()["response_type"] == "in_channel"
        assert replayed.status_code == 409 and "replayed" in replayed.json()["error"]
        wait_until(lambda: server.scripted.started(), what="the run")
        assert len(server.scripted.started()) == 1


def test_the_replay_cache_is_shared_through_the_store(live: LiveFactory, tmp_path: Path) -> None:
    """Two server processes on one store: a request taken by one is a replay at the other."""
    from fixloop.server.store import ServerStore

    store = ServerStore(path=tmp_path / "shared.sqlite")
    other = ServerStore(path=tmp_path / "shared.sqlite")
    assert store.first_seen("v0=abc", "slack-signature", forget_after=600)
    assert not other.first_seen("v0=abc", "slack-signature", forget_after=600)
    assert other.first_seen("v0=def", "slack-signature", forget_after=600)


def approval_message(server: LiveServer, thread_id: str) -> SlackMessage:
    parent = server.slack.wait_for(lambda m: m.thread_ts is None and thread_id in m.text)
    return server.slack.wait_for(
        lambda m: (
            m.thread_ts == parent.ts and any(b.get("block_id", "").startswith("fixloop_approval") for b in m.blocks)
        )
    )


def click(server: LiveServer, value: str, message: SlackMessage, *, user: str = "UALICE", action: str = APPROVE_ACTION,
          response_url: str | None = None) -> httpx.Response:  # fmt: skip
    body = click_body(
        action,
        value,
        user=user,
        channel=message.channel,
        message_ts=message.ts,
        response_url=server.slack.response_url("click") if response_url is None else response_url,
        thread_ts=message.thread_ts,
    )
    return httpx.post(f"{server.url}/slack/interactions", content=body, headers=slack_headers(body), timeout=10)


def test_a_click_on_one_runs_message_carrying_another_runs_id_is_refused(live: LiveFactory, tmp_path: Path) -> None:
    with live() as server:
        body = command_body("websockets", response_url=server.slack.response_url("cmd"))
        thread_a = post_command(server, body, slack_headers(body)).json()["text"].split("`")[1]
        message_a = approval_message(server, thread_a)
        edits_before = message_a.edits
        # run B: a CLI run with no Slack thread, waiting for approval
        server.scripted.start(repo=tmp_path, focus="auth", requested_by="carol", source="cli", llm="none",
                              thread_id="cli-b", scenario=None, out_dir=tmp_path, extra={})  # fmt: skip
        own = button_value(message_a.blocks, APPROVE_ACTION)
        forged = [
            own.replace(thread_a, "cli-b"),  # A's signature, B's id
            "cli-b",  # the old unsigned form
            f"cli-b|1:{HEAD_SHA}|" + "0" * 64,
            ButtonSigner("a-guessed-key").value("cli-b", {1: HEAD_SHA}, channel=message_a.channel,
                                                message_ts=message_a.ts),
        ]  # fmt: skip
        for value in forged:
            refused = click(server, value, message_a)
            assert refused.status_code == 403, (value, refused.text)
            assert "not issued by fixloop for this message" in refused.json()["error"]
        # A's genuine value clicked on another message (B's, were it in Slack) is refused too
        elsewhere = SlackMessage(channel=message_a.channel, ts="1700009999.000100", text="", thread_ts=None)
        assert click(server, own, elsewhere).status_code == 403
        time.sleep(0.3)
        assert approvals(server) == []
        assert server.runner.status("cli-b")["status"] == "awaiting_approval"
        assert message_a.edits == edits_before and "Approved" not in message_a.text
        # the genuine click on A's own message approves A, and only A
        assert click(server, own, message_a).status_code == 200
        wait_until(lambda: server.runner.status(thread_a)["status"] == "green", what="A approved")
        assert server.runner.status("cli-b")["status"] == "awaiting_approval"


def test_a_signed_button_whose_pr_head_moved_since_is_refused(live: LiveFactory) -> None:
    with live() as server:
        body = command_body("websockets", response_url=server.slack.response_url("cmd"))
        thread_id = post_command(server, body, slack_headers(body)).json()["text"].split("`")[1]
        message = approval_message(server, thread_id)
        server.scripted.move_head(thread_id, NEW_HEAD)
        assert click(server, button_value(message.blocks, APPROVE_ACTION), message).status_code == 200
        server.slack.wait_for(lambda m: m.text.startswith(":no_entry: approve by alice refused") and "#1 at" in m.text)
        assert server.runner.status(thread_id)["status"] == "awaiting_approval"
        # a rejection is not bound to heads: the reviewer may always say no
        assert (
            click(server, button_value(message.blocks, REJECT_ACTION), message, action=REJECT_ACTION).status_code == 200
        )
        wait_until(lambda: any(name == "reject" for name, _ in server.scripted.calls), what="the rejection")


def test_a_response_url_outside_slack_is_refused_and_never_called(live: LiveFactory) -> None:
    with LocalSlackServer() as elsewhere, live() as server:
        body = command_body("websockets", response_url=server.slack.response_url("cmd"))
        thread_id = post_command(server, body, slack_headers(body)).json()["text"].split("`")[1]
        message = approval_message(server, thread_id)
        value = button_value(message.blocks, APPROVE_ACTION)
        for url in (elsewhere.response_url("steal"), "http://127.0.0.1:1/x", "https://hooks.slack.com.evil.test/x",
                    "https://user@hooks.slack.com/x", "file:///etc/passwd", "not a url"):  # fmt: skip
            refused = click(server, value, message, user="UMALLORY", response_url=url)
            assert refused.status_code == 400, (url, refused.text)
            command = command_body("auth", response_url=url)
            assert post_command(server, command, slack_headers(command)).status_code == 400, url
        time.sleep(0.3)
        assert elsewhere.responses == [] and elsewhere.calls == []
        assert approvals(server) == []
        assert len(server.scripted.started()) == 1
        assert server.app.state.ops.options.response_url_allowed("https://hooks.slack.com/actions/T1/2/abc")
