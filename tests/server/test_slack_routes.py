"""Slack routes against a real uvicorn, signed requests built here, the real slack_sdk posting
to the local Slack stand-in, and a scripted runner in place of fixloop.runs."""

from __future__ import annotations

import threading
import time

import httpx

from fixloop.integrations.slack.blocks import APPROVE_ACTION, REJECT_ACTION, WHY_ACTION
from fixloop.integrations.slack.local_slack_server import SlackMessage
from tests.server.conftest import LiveFactory, LiveServer
from tests.server.helpers import (
    HEAD_SHA,
    ScriptedRunner,
    button_value,
    claim_in_a_killed_process,
    click_body,
    command_body,
    slack_headers,
    wait_until,
)


def post_command(
    server: LiveServer, text: str, *, user: str = "UCAROL", timestamp: int | None = None
) -> httpx.Response:
    body = command_body(text, user=user, response_url=server.slack.response_url("cmd"))
    headers = slack_headers(body, timestamp=timestamp)
    return httpx.post(f"{server.url}/slack/commands", content=body, headers=headers, timeout=10)


def approval_message(server: LiveServer) -> SlackMessage:
    return server.slack.wait_for(lambda m: any(b.get("block_id", "").startswith("fixloop_approval") for b in m.blocks))


def parent_of(server: LiveServer, thread_id: str) -> SlackMessage:
    return server.slack.wait_for(lambda m: m.thread_ts is None and thread_id in m.text)


def click(server: LiveServer, action: str, thread_id: str, user: str, message: SlackMessage) -> httpx.Response:
    body = click_body(
        action,
        button_value(message.blocks, action),
        user=user,
        channel=message.channel,
        message_ts=message.ts,
        response_url=server.slack.response_url(f"click-{user}"),
    )
    return httpx.post(f"{server.url}/slack/interactions", content=body, headers=slack_headers(body), timeout=10)


def thread_id_of(response: httpx.Response) -> str:
    text = response.json()["text"]
    return text.split("`")[1]


def test_unsigned_and_badly_signed_commands_are_refused_and_start_nothing(live: LiveFactory) -> None:
    with live() as server:
        body = command_body("websockets")
        unsigned = httpx.post(
            f"{server.url}/slack/commands", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        wrong = httpx.post(
            f"{server.url}/slack/commands", content=body, headers=slack_headers(body, secret="not-the-secret")
        )
        tampered_headers = slack_headers(body)
        tampered = httpx.post(
            f"{server.url}/slack/commands", content=body.replace("websockets", "auth"), headers=tampered_headers
        )
        clicks = httpx.post(
            f"{server.url}/slack/interactions",
            content="payload=%7B%7D",
            headers=slack_headers("payload=%7B%7D", secret="nope"),
        )
        assert [r.status_code for r in (unsigned, wrong, tampered, clicks)] == [401, 401, 401, 401]
        assert server.app.state.workers.stats()["runs_submitted"] == 0
        assert server.scripted.started() == []
        assert server.slack.messages == []


def test_a_replayed_request_older_than_five_minutes_is_refused(live: LiveFactory) -> None:
    with live() as server:
        old = int(time.time()) - 301
        response = post_command(server, "websockets", timestamp=old)
        assert response.status_code == 401
        assert "expired" in response.json()["error"]
        fresh = post_command(server, "websockets")
        assert fresh.status_code == 200
        wait_until(lambda: server.scripted.started(), what="the fresh command to start a run")
        assert len(server.scripted.started()) == 1


def test_bad_input_gets_a_clear_refusal_and_starts_nothing(live: LiveFactory) -> None:
    with live() as server:
        cases = {
            "websockets; rm -rf /": "not allowed",
            "../../etc/passwd": "looks like a path",
            "x" * 400: "too long",
            "websockets evilcorp/repo": "not allowed on this server",
            "websockets --llm gpt-99": "not allowed here",
            "websockets --exec now": "unknown option",
            "": "no focus",
        }
        for text, expected in cases.items():
            response = post_command(server, text)
            assert response.status_code == 200
            answer = response.json()
            assert answer["response_type"] == "ephemeral"
            assert expected in answer["text"], (text, answer["text"])
        assert server.app.state.workers.stats()["runs_submitted"] == 0
        assert server.scripted.started() == []


def test_command_is_acknowledged_and_the_run_reaches_the_approval_message(live: LiveFactory) -> None:
    with live() as server:
        response = post_command(server, "websockets chatbackend --llm scripted")
        assert response.status_code == 200
        assert response.json()["response_type"] == "in_channel"
        thread_id = thread_id_of(response)
        started = wait_until(lambda: server.scripted.started(), what="a run")
        assert started[0]["focus"] == "websockets"
        assert started[0]["requested_by"] == "carol"  # UCAROL mapped through settings.approval.slack_users
        assert started[0]["source"] == "slack" and started[0]["llm"] == "scripted"
        assert started[0]["thread_id"] == thread_id
        approval = approval_message(server)
        parent = parent_of(server, thread_id)
        assert approval.thread_ts == parent.ts
        buttons = [e["action_id"] for b in approval.blocks if b["type"] == "actions" for e in b["elements"]]
        assert buttons == [APPROVE_ACTION, REJECT_ACTION]
        texts = [m.text for m in server.slack.thread(parent.channel, parent.ts)]
        assert any("Selected 1 test files" in t for t in texts)
        assert any("Test run 1: 2 failed, 3 passed" in t for t in texts)
        assert any("Root cause: the JWT audience check rejects every token" in t for t in texts)
        assert any("PR #1" in t and "http://codehost.local/pr/1" in t for t in texts)


def test_with_a_public_url_the_approval_request_links_the_run_page(live: LiveFactory) -> None:
    with live(public_url="https://fixloop.example") as server:
        thread_id = thread_id_of(post_command(server, "websockets chatbackend --llm scripted"))
        approval = approval_message(server)
        wait_until(lambda: approval.edits >= 1, what="the buttons")
        links = [e.get("url") for b in approval.blocks if b["type"] == "actions" for e in b["elements"]]
        assert f"https://fixloop.example/runs/{thread_id}" in links


def test_approval_clicks_follow_the_rules_and_an_approval_turns_the_thread_green(live: LiveFactory) -> None:
    with live() as server:
        thread_id = thread_id_of(post_command(server, "websockets"))
        approval = approval_message(server)
        # the requester (four-eyes) and a non-approver are refused, in the thread and to the clicker
        for user, who in (("UCAROL", "carol"), ("UMALLORY", "mallory"), ("UNKNOWN1", "slack:UNKNOWN1")):
            assert click(server, APPROVE_ACTION, thread_id, user, approval).status_code == 200
            server.slack.wait_for(lambda m, who=who: m.text.startswith(f":no_entry: approve by {who} refused"))
        wait_until(lambda: len(server.slack.responses) == 3, what="ephemeral refusals")
        assert all("refused" in r["text"] for r in server.slack.responses)
        assert server.runner.status(thread_id)["status"] == "awaiting_approval"
        # an approver
        assert click(server, APPROVE_ACTION, thread_id, "UALICE", approval).status_code == 200
        server.slack.wait_for(lambda m: "is *green*" in m.text and m.thread_ts == approval.thread_ts)
        wait_until(lambda: approval.edits == 2, what="the approval message to be updated")
        assert "Approved by alice" in approval.text
        assert not [b for b in approval.blocks if b["type"] == "actions"]
        texts = [m.text for m in server.slack.thread(approval.channel, approval.thread_ts or "")]
        assert any("PR #1 (merged)" in t for t in texts)
        assert any("Deploy 1: revision `abc123def456` — healthy" in t for t in texts)


def test_a_second_command_for_the_same_repo_and_focus_joins_the_active_run(live: LiveFactory) -> None:
    hold = threading.Event()
    with live(runner=ScriptedRunner(hold=hold)) as server:
        first = post_command(server, "websockets")
        second = post_command(server, "websockets", user="UALICE")
        other_focus = post_command(server, "auth")
        hold.set()
        assert "joined" in second.json()["text"]
        assert thread_id_of(second) == thread_id_of(first)
        assert thread_id_of(other_focus) != thread_id_of(first)
        wait_until(lambda: len(server.scripted.started()) == 2, what="two runs")
        server.slack.wait_for(lambda m: "<@UALICE> asked for the same run" in m.text)
        time.sleep(0.3)
        assert sorted(s["focus"] for s in server.scripted.started()) == ["auth", "websockets"]


def mention(
    server: LiveServer,
    parent: SlackMessage,
    text: str,
    user: str,
    *,
    event_id: str = "",
    ts: str = "",
    retry: int = 0,
) -> httpx.Response:
    import json

    envelope: dict[str, object] = {
        "type": "event_callback",
        "event": {
            "type": "app_mention",
            "user": user,
            "text": f"<@UFIXLOOP> {text}",
            "channel": parent.channel,
            "ts": ts or f"{time.time():.6f}",
            "thread_ts": parent.ts,
        },
    }
    if event_id:
        envelope["event_id"] = event_id
    body = json.dumps(envelope)
    headers = slack_headers(body, timestamp=int(time.time()) - retry)  # a retry is signed again, later
    headers["Content-Type"] = "application/json"
    if retry:
        headers["X-Slack-Retry-Num"] = str(retry)
    return httpx.post(f"{server.url}/slack/events", content=body, headers=headers, timeout=10)


def test_mentions_in_the_thread_steer_the_same_run(live: LiveFactory) -> None:
    with live() as server:
        thread_id = thread_id_of(post_command(server, "websockets"))
        approval_message(server)
        parent = parent_of(server, thread_id)
        assert mention(server, parent, "status", "UCAROL").status_code == 200
        server.slack.wait_for(lambda m: m.text.startswith(f"Run `{thread_id}`: *awaiting_approval*"))
        mention(server, parent, "why server-error-1", "UCAROL")
        whys = server.slack.wait_for(lambda m: m.text.startswith("*Five whys for `server-error-1`*"))
        assert whys.thread_ts == parent.ts and "5. *Why 5?* because 5 _[E5]_" in whys.text
        mention(server, parent, "reject the patch hides the error", "UALICE")
        wait_until(lambda: any(c[0] == "reject" for c in server.scripted.calls), what="a reject")
        reject = next(kw for name, kw in server.scripted.calls if name == "reject")
        assert reject == {
            "thread_id": thread_id,
            "by": "alice",
            "reason": "the patch hides the error",
            "source": "slack",
        }
        server.slack.wait_for(lambda m: "Approval record: alice — reject" in m.text)
        mention(server, parent, f"approve {HEAD_SHA[:12]}", "UMALLORY")
        server.slack.wait_for(lambda m: m.text.startswith(":no_entry: approve by mallory refused"))
        mention(server, parent, "stop", "UCAROL")
        stopped = server.slack.wait_for(lambda m: m.text.startswith(":octagonal_sign:"))
        assert stopped.thread_ts == parent.ts and "lowered from merge to diagnose (asked by carol)" in stopped.text
        assert ("stop", {"thread_id": thread_id, "by": "carol"}) in server.runner.calls  # type: ignore[attr-defined]
        # a retry of an event Slack already delivered does nothing
        before = len(server.scripted.calls)
        body = '{"type": "url_verification", "challenge": "abc"}'
        headers = {**slack_headers(body), "Content-Type": "application/json"}
        assert httpx.post(f"{server.url}/slack/events", content=body, headers=headers).json() == {"challenge": "abc"}
        assert len(server.scripted.calls) == before


def test_the_five_whys_button_posts_them_in_the_thread(live: LiveFactory) -> None:
    with live() as server:
        thread_id = thread_id_of(post_command(server, "websockets"))
        category = server.slack.wait_for(
            lambda m: any(e.get("action_id") == WHY_ACTION for b in m.blocks for e in b.get("elements", []))
        )
        value = button_value(category.blocks, WHY_ACTION)
        assert value.startswith(f"{thread_id}|server-error-1|")  # signed: the MAC follows

        def click(value: str, *, thread_ts: str | None = category.thread_ts) -> httpx.Response:
            body = click_body(
                WHY_ACTION,
                value,
                user="UCAROL",
                channel=category.channel,
                message_ts=category.ts,
                response_url="",
                thread_ts=thread_ts,
            )
            return httpx.post(f"{server.url}/slack/interactions", content=body, headers=slack_headers(body))

        # the old unsigned form, an edited category, a forged MAC, another thread: refused, nothing posted
        mac = value.rsplit("|", 1)[1]
        refused = [
            click(f"{thread_id}|server-error-1"),
            click(f"{thread_id}|auth-1|{mac}"),
            click(f"{thread_id}|server-error-1|{'0' * 64}"),
            click(value, thread_ts="1700000000.000100"),
        ]
        assert [r.status_code for r in refused] == [403] * 4, [r.text for r in refused]
        assert click(value).status_code == 200
        whys = server.slack.wait_for(lambda m: m.text.startswith("*Five whys"))
        assert whys.thread_ts == category.thread_ts
        assert "*Root cause:* the JWT audience check rejects every token" in whys.text
        time.sleep(0.3)  # a refused click that slipped through would have posted by now
        assert sum(m.text.startswith("*Five whys") for m in server.slack.messages) == 1


def test_secrets_in_run_output_never_reach_slack_or_github(live: LiveFactory) -> None:
    from tests.server.helpers import GITHUB_TOKEN, SLACK_SECRET, SLACK_TOKEN, comment_payload, github_headers

    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYXJvbCJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    title = f"401 with Authorization: Bearer {jwt}; bot token {SLACK_TOKEN}; hook {GITHUB_TOKEN} {SLACK_SECRET}"
    with live(runner=ScriptedRunner(title=title)) as server:
        post_command(server, "websockets")
        approval_message(server)
        gh = comment_payload("/fixloop auth")
        httpx.post(
            f"{server.url}/github/webhook",
            content=gh,
            headers=github_headers(gh, event="issue_comment", delivery="d-secret"),
        )
        wait_until(
            lambda: any("Waiting for approval" in b for b in server.github.bodies("acme/chatbackend", 7)),
            what="the issue's approval request",
        )
        posted = str([(m.text, m.blocks) for m in server.slack.messages]) + str(server.github.comments)
        assert "401 with Authorization" in posted, posted  # the message went out...
        for secret in (jwt, SLACK_TOKEN, GITHUB_TOKEN, SLACK_SECRET):
            assert secret not in posted  # ...without the secrets


def test_an_approve_mention_names_the_head_it_approves(live: LiveFactory) -> None:
    with live() as server:
        thread_id = thread_id_of(post_command(server, "websockets"))
        approval_message(server)
        parent = parent_of(server, thread_id)
        # no commit named: nothing decided, answered with the command naming the current head
        mention(server, parent, "approve", "UALICE")
        confirm = server.slack.wait_for(lambda m: m.text.startswith("Nothing approved yet"))
        assert f"approve {HEAD_SHA[:12]}" in confirm.text and confirm.thread_ts == parent.ts
        assert not [c for c in server.scripted.calls if c[0] == "approve"]
        # a head the PR no longer has: refused in the thread, the run stays waiting
        mention(server, parent, "approve deadbeef00", "UALICE")
        server.slack.wait_for(
            lambda m: m.text.startswith(":no_entry: approve by alice refused") and "deadbeef" in m.text
        )
        assert server.runner.status(thread_id)["status"] == "awaiting_approval"
        # the current head: approved, bound to it
        mention(server, parent, f"approve {HEAD_SHA[:12]}", "UALICE")
        wait_until(lambda: server.runner.status(thread_id)["status"] == "green", what="the bound approval")
        decisions = [(a["by"], a["decision"]) for a in server.runner.status(thread_id)["approvals"]]
        assert decisions == [("alice", "refused"), ("alice", "approve")]  # the stale one recorded as refused


def test_an_event_retry_is_dropped_once_seen_and_processed_when_its_first_delivery_died(live: LiveFactory) -> None:
    with live() as server:
        thread_id = thread_id_of(post_command(server, "websockets"))
        approval_message(server)
        parent = parent_of(server, thread_id)
        store, workers = server.app.state.store, server.app.state.workers

        def statuses() -> int:
            return sum(m.text.startswith(f"Run `{thread_id}`") for m in server.slack.messages)

        ts = f"{time.time():.6f}"
        before = workers.stats()["chat_submitted"]
        assert mention(server, parent, "status", "UCAROL", event_id="Ev1", ts=ts).status_code == 200
        wait_until(lambda: statuses() == 1, what="the status reply")
        assert store.state("slack-event:Ev1") == "seen" and workers.stats()["chat_submitted"] == before + 1
        retried = mention(server, parent, "status", "UCAROL", event_id="Ev1", ts=ts, retry=1)
        assert retried.status_code == 200
        assert workers.stats()["chat_submitted"] == before + 1  # seen: the retry queued nothing
        # a server that claimed this event and was SIGKILLed before it queued the reply
        claim_in_a_killed_process(store.path, "slack-event:Ev2")
        retried = mention(server, parent, "status", "UCAROL", event_id="Ev2", retry=1)
        assert retried.status_code == 200
        wait_until(lambda: statuses() == 2, what="the retried event's status reply")
        assert store.state("slack-event:Ev2") == "seen" and workers.stats()["chat_submitted"] == before + 2
