"""The real slack_sdk against the local Slack stand-in: posting, threads, updates, response URLs."""

from __future__ import annotations

import pytest

from fixloop.integrations.slack.blocks import approval_blocks, item_blocks, whys_text
from fixloop.integrations.slack.local_slack_server import LocalSlackServer
from fixloop.integrations.slack.thread import SlackPoster, SlackPostError
from fixloop.server.progress import CategoryView, ProgressItem, WhyStep

TOKEN = "xoxb-unit-token"


def test_post_in_a_thread_update_and_respond() -> None:
    with LocalSlackServer(token=TOKEN) as slack:
        poster = SlackPoster(TOKEN, base_url=slack.api_url)
        parent = poster.post("C1", "fixloop run t1")
        reply = poster.post("C1", "progress", thread_ts=parent)
        poster.update("C1", reply, "progress (done)", blocks=[])
        poster.respond(slack.response_url("x"), "only you can see this")
        assert poster.bot_user_id() == "UFIXLOOP"
        assert [m.text for m in slack.thread("C1", parent)] == ["fixloop run t1", "progress (done)"]
        assert slack.thread("C1", parent)[1].edits == 1
        assert slack.responses == [
            {"text": "only you can see this", "response_type": "ephemeral", "replace_original": False}
        ]
        assert [c.path for c in slack.calls] == [
            "chat.postMessage",
            "chat.postMessage",
            "chat.update",
            "/response/x",
            "auth.test",
        ]


def test_a_wrong_token_is_a_clear_error() -> None:
    with LocalSlackServer(token=TOKEN) as slack:
        poster = SlackPoster("xoxb-wrong", base_url=slack.api_url)
        with pytest.raises(SlackPostError, match="invalid_auth"):
            poster.post("C1", "hello")
        assert slack.messages == []


def test_texts_and_blocks_are_redacted_before_they_leave() -> None:
    with LocalSlackServer(token=TOKEN) as slack:
        poster = SlackPoster(TOKEN, base_url=slack.api_url, redact=lambda t: t.replace("s3cr3t", "[REDACTED]"))
        item = ProgressItem(key="k", kind="status", text="token=s3cr3t leaked")
        ts = poster.post("C1", item.text, blocks=item_blocks(item))
        message = slack.thread("C1", ts)[0]
        assert "s3cr3t" not in message.text and "s3cr3t" not in str(message.blocks)
        assert "[REDACTED]" in message.blocks[0]["text"]["text"]


def test_approval_blocks_and_five_whys() -> None:
    blocks = approval_blocks(ProgressItem(key="a", kind="approval-needed", text="Waiting"), "slack-t1", "signed-v")
    buttons = blocks[1]["elements"]
    assert [(b["text"]["text"], b["value"], b["style"]) for b in buttons] == [
        ("Approve", "signed-v", "primary"),
        ("Reject", "signed-v", "danger"),
    ]
    view = CategoryView(
        "auth-1",
        "auth",
        "JWT rejected",
        2,
        "clock skew",
        0.7,
        tuple(WhyStep(f"q{n}", f"a{n}", ("E1",)) for n in range(5)),
    )
    text = whys_text(view)
    assert text.count("\n") == 6 and "*Root cause:* clock skew" in text
    item = ProgressItem(key="c", kind="category", text="cat", category=view)
    with_button = item_blocks(item, run_url="http://srv/runs/t1", why_value=lambda c: f"t1|{c}|signed")
    actions = with_button[1]["elements"]
    assert actions[0]["value"] == "t1|auth-1|signed" and actions[1]["url"] == "http://srv/runs/t1"
    # no signer: no Five whys button (the thread's `why <category>` mention answers the same)
    unsigned = item_blocks(item, run_url="http://srv/runs/t1")
    assert [e.get("action_id") for e in unsigned[1]["elements"]] == ["fixloop_open"]
