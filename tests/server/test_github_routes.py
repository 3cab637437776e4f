"""The GitHub issue bot: signed webhooks to a real uvicorn, replies through PyGithub to a local
REST stand-in, a scripted runner in place of fixloop.runs."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.server.conftest import LiveFactory, LiveServer
from tests.server.helpers import (
    HEAD_SHA,
    ScriptedRunner,
    claim_in_a_killed_process,
    comment_payload,
    github_headers,
    wait_until,
)

REPO = "acme/chatbackend"


def deliver(
    server: LiveServer,
    body: bytes,
    *,
    event: str = "issue_comment",
    delivery: str | None = None,
    secret: str | None = None,
) -> httpx.Response:
    kwargs = {"secret": secret} if secret else {}
    headers = github_headers(body, event=event, delivery=delivery or str(uuid.uuid4()), **kwargs)
    return httpx.post(f"{server.url}/github/webhook", content=body, headers=headers, timeout=10)


def runner_of(server: LiveServer) -> ScriptedRunner:
    assert isinstance(server.runner, ScriptedRunner)
    return server.runner


def test_unsigned_and_badly_signed_webhooks_are_refused_and_start_nothing(live: LiveFactory) -> None:
    with live() as server:
        body = comment_payload("/fixloop websockets")
        unsigned = httpx.post(
            f"{server.url}/github/webhook",
            content=body,
            headers={"X-GitHub-Event": "issue_comment", "X-GitHub-Delivery": "d1"},
        )
        wrong = deliver(server, body, secret="wrong-secret")
        headers = github_headers(body, event="issue_comment", delivery="d2")
        tampered = httpx.post(
            f"{server.url}/github/webhook", content=body.replace(b"websockets", b"auth"), headers=headers
        )
        assert [r.status_code for r in (unsigned, wrong, tampered)] == [401, 401, 401]
        assert server.app.state.workers.stats()["runs_submitted"] == 0
        assert runner_of(server).started() == []
        # a refused request does not burn its delivery id: the genuine delivery still works
        genuine = deliver(server, body, delivery="d2")
        assert genuine.json()["result"] == "started"


def test_a_redelivered_delivery_id_starts_nothing_new(live: LiveFactory) -> None:
    with live() as server:
        body = comment_payload("/fixloop websockets")
        first = deliver(server, body, delivery="delivery-42")
        again = deliver(server, body, delivery="delivery-42")
        assert first.status_code == 202 and first.json()["result"] == "started"
        assert again.status_code == 200 and again.json()["result"] == "duplicate"
        wait_until(lambda: runner_of(server).started(), what="the run")
        wait_until(lambda: server.app.state.workers.stats()["runs_pending"] == 0, what="the run job to end")
        assert len(runner_of(server).started()) == 1
        assert server.app.state.workers.stats()["runs_submitted"] == 1


def test_comment_trigger_replies_on_the_issue_with_progress_and_pr_links(live: LiveFactory) -> None:
    with live() as server:
        response = deliver(server, comment_payload("please look\n/fixloop websockets --llm scripted"))
        thread_id = response.json()["thread"]
        started = wait_until(lambda: runner_of(server).started(), what="the run")[0]
        assert started["requested_by"] == "carol" and started["source"] == "github"
        assert started["llm"] == "scripted" and started["thread_id"] == thread_id
        comments = wait_until(
            lambda: [b for b in server.github.bodies(REPO, 7) if "Waiting for approval" in b],
            what="the approval request comment",
        )
        everything = "\n".join(server.github.bodies(REPO, 7))
        assert f"fixloop run `{thread_id}` started" in everything
        assert "[PR #1](http://codehost.local/pr/1)" in everything
        assert "<details><summary>Five whys</summary>" in everything
        assert "Root cause: the JWT audience check rejects every token" in everything
        assert "/fixloop approve" in comments[0]


def test_comments_link_the_run_page_when_the_server_has_a_public_url(live: LiveFactory) -> None:
    with live(public_url="https://fixloop.example/") as server:
        thread_id = deliver(server, comment_payload("/fixloop websockets")).json()["thread"]
        wait_until(
            lambda: [b for b in server.github.bodies(REPO, 7) if "Waiting for approval" in b],
            what="the approval request comment",
        )
        progress = [b for b in server.github.bodies(REPO, 7) if b.startswith("**fixloop** run")]
        assert progress and all(f"[run page](https://fixloop.example/runs/{thread_id})" in b for b in progress)


def test_approve_and_reject_comments_follow_the_rules(live: LiveFactory) -> None:
    with live() as server:
        deliver(server, comment_payload("/fixloop websockets", login="carol"))
        wait_until(lambda: any("Waiting for approval" in b for b in server.github.bodies(REPO, 7)), what="approval")
        # four-eyes: the requester cannot approve; an unmapped login is not an approver
        deliver(server, comment_payload(f"/fixloop approve {HEAD_SHA[:12]}", login="carol"))
        deliver(server, comment_payload(f"/fixloop approve {HEAD_SHA[:12]}", login="mallory-gh"))
        wait_until(
            lambda: len([b for b in server.github.bodies(REPO, 7) if b.startswith(":no_entry:")]) == 2, what="refusals"
        )
        refusals = [b for b in server.github.bodies(REPO, 7) if b.startswith(":no_entry:")]
        assert any("approve by carol refused" in b and "four-eyes" in b for b in refusals)
        assert any("approve by github:mallory-gh refused" in b and "not an approver" in b for b in refusals)
        assert deliver(server, comment_payload("/fixloop reject", login="alice-gh")).json()["result"] == "invalid"
        deliver(server, comment_payload("/fixloop reject the fix swallows the error", login="alice-gh"))
        wait_until(lambda: any(c[0] == "reject" for c in runner_of(server).calls), what="a reject")
        deliver(server, comment_payload(f"/fixloop approve {HEAD_SHA[:12]}", login="alice-gh"))
        wait_until(lambda: any("is **green**" in b for b in server.github.bodies(REPO, 7)), what="green")
        decisions = [(name, kw["by"]) for name, kw in runner_of(server).calls if name in ("approve", "reject")]
        assert decisions == [
            ("approve", "carol"),
            ("approve", "github:mallory-gh"),
            ("reject", "alice"),
            ("approve", "alice"),
        ]


def test_a_stop_comment_lowers_the_run_and_says_so_on_the_issue(live: LiveFactory) -> None:
    with live() as server:
        deliver(server, comment_payload("/fixloop websockets", login="carol"))
        wait_until(lambda: any("Waiting for approval" in b for b in server.github.bodies(REPO, 7)), what="approval")
        stopped = deliver(server, comment_payload("/fixloop stop", login="alice-gh"))
        assert stopped.json()["result"] == "stop"
        said = wait_until(
            lambda: [b for b in server.github.bodies(REPO, 7) if "lowered from merge to diagnose" in b], what="stop"
        )
        assert "(asked by alice)" in said[0] and not said[0].startswith(":octagonal_sign:")
        assert ("stop", {"thread_id": stopped.json()["thread"], "by": "alice"}) in runner_of(server).calls


def test_the_fixloop_label_starts_a_run_and_other_events_are_ignored(live: LiveFactory) -> None:
    with live() as server:
        labeled = {
            "action": "labeled",
            "label": {"name": "fixloop"},
            "issue": {
                "number": 9,
                "title": "ws broken",
                "body": "details\n/fixloop auth",
                "updated_at": "2026-12-06T09:00:00Z",
            },
            "repository": {"full_name": REPO},
            "sender": {"login": "carol", "type": "User"},
        }
        other_label = {**labeled, "label": {"name": "bug"}}
        foreign = {**labeled, "repository": {"full_name": "evil/elsewhere"}}
        from_bot = {**labeled, "sender": {"login": "fixloop[bot]", "type": "Bot"}}
        results = [
            deliver(server, json.dumps(p).encode(), event="issues").json()["result"]
            for p in (other_label, foreign, from_bot, labeled)
        ]
        assert results == ["ignored", "ignored", "ignored", "started"]
        chatter = deliver(server, comment_payload("thanks, looks good"))
        assert chatter.json()["result"] == "ignored"
        started = wait_until(lambda: runner_of(server).started(), what="the labelled run")
        assert [s["focus"] for s in started] == ["auth"]
        ping = deliver(server, b'{"zen": "Keep it simple."}', event="ping")
        assert ping.json()["result"] == "pong"


def test_bad_focus_in_a_comment_is_refused_on_the_issue(live: LiveFactory) -> None:
    with live() as server:
        assert deliver(server, comment_payload("/fixloop $(curl evil)")).json()["result"] == "invalid"
        assert deliver(server, comment_payload("/fixloop ../../secrets")).json()["result"] == "invalid"
        wait_until(lambda: len(server.github.bodies(REPO, 7)) == 2, what="two refusals")
        assert all("not allowed" in b or "looks like a path" in b for b in server.github.bodies(REPO, 7))
        assert runner_of(server).started() == []


def test_an_approve_answered_busy_is_processed_when_github_redelivers_it(live: LiveFactory) -> None:
    hold = threading.Event()
    with live(runner=ScriptedRunner(hold=hold), run_workers=1, max_pending=1) as server:
        deliver(server, comment_payload("/fixloop websockets", login="carol"))
        wait_until(lambda: runner_of(server).started(), what="the run to start (held: the run pool is full)")
        approve = comment_payload(f"/fixloop approve {HEAD_SHA[:12]}", login="alice-gh")  # one comment, one id
        busy = deliver(server, approve, delivery="delivery-busy")
        assert busy.status_code == 503 and busy.json()["error"] == "busy"
        hold.set()
        wait_until(lambda: any("Waiting for approval" in b for b in server.github.bodies(REPO, 7)), what="approval")
        wait_until(lambda: server.app.state.workers.stats()["runs_pending"] == 0, what="the run pool to empty")
        again = deliver(server, approve, delivery="delivery-busy")  # GitHub's redelivery: same id, same body
        assert again.status_code == 202 and again.json()["result"] == "approve", again.text
        wait_until(lambda: any("is **green**" in b for b in server.github.bodies(REPO, 7)), what="green")
        assert [kw["by"] for name, kw in runner_of(server).calls if name == "approve"] == ["alice"]
        duplicate = deliver(server, approve, delivery="delivery-busy")  # processed now: seen from here on
        assert duplicate.status_code == 200 and duplicate.json()["result"] == "duplicate"


def labeled_payload(updated_at: str | None, *, number: int = 9) -> bytes:
    issue: dict[str, object] = {"number": number, "title": "ws broken", "body": "/fixloop auth"}
    if updated_at is not None:
        issue["updated_at"] = updated_at
    return json.dumps(
        {
            "action": "labeled",
            "label": {"name": "fixloop"},
            "issue": issue,
            "repository": {"full_name": REPO},
            "sender": {"login": "carol", "type": "User"},
        }
    ).encode()


def test_a_replayed_label_event_under_a_fresh_delivery_id_starts_nothing(live: LiveFactory) -> None:
    with live() as server:
        first = deliver(server, labeled_payload("2026-12-06T09:00:00Z"), event="issues")
        assert first.status_code == 202 and first.json()["result"] == "started", first.text
        wait_until(lambda: runner_of(server).started(), what="the labelled run")
        wait_until(lambda: server.app.state.workers.stats()["runs_pending"] == 0, what="the run job to end")
        # the same signed body again, under a new delivery id (an attacker replaying a captured webhook)
        replay = deliver(server, labeled_payload("2026-12-06T09:00:00Z"), event="issues")
        assert replay.status_code == 200 and replay.json()["result"] == "duplicate", replay.text
        assert len(runner_of(server).started()) == 1
        assert server.app.state.workers.stats()["runs_submitted"] == 1
        # a label without the issue's timestamp cannot be told from a replay: refused, starts nothing
        bare = deliver(server, labeled_payload(None), event="issues")
        assert bare.status_code == 422 and "updated_at" in bare.json()["error"]
        # labelled again later (unlabel, label): the issue moved, so this is a new request; the first run
        # still waits for approval, so it is joined (a finished one would be started again)
        later = deliver(server, labeled_payload("2026-12-06T09:30:00Z"), event="issues")
        assert later.status_code == 202 and later.json()["result"] == "joined", later.text


def test_a_delivery_claimed_by_a_killed_server_is_processed_when_redelivered(live: LiveFactory) -> None:
    with live() as server:
        store = server.app.state.store
        # a server process that claimed this delivery and was SIGKILLed before it enqueued the job
        claim_in_a_killed_process(store.path, "delivery-dead")
        assert store.state("delivery-dead") == "pending"
        body = comment_payload("/fixloop websockets")
        again = deliver(server, body, delivery="delivery-dead")  # GitHub's redelivery
        assert again.status_code == 202 and again.json()["result"] == "started", again.text
        assert store.state("delivery-dead") == "seen"
        duplicate = deliver(server, body, delivery="delivery-dead")  # processed: dropped from here on
        assert duplicate.status_code == 200 and duplicate.json()["result"] == "duplicate"
        wait_until(lambda: server.app.state.workers.stats()["runs_pending"] == 0, what="the run job to end")
        assert len(runner_of(server).started()) == 1
        assert server.app.state.workers.stats()["runs_submitted"] == 1


def test_two_identical_deliveries_at_once_start_one_run(live: LiveFactory) -> None:
    with live() as server:
        body = comment_payload("/fixloop websockets")
        barrier = threading.Barrier(4)

        def send(_: int) -> httpx.Response:
            barrier.wait()
            return deliver(server, body, delivery="delivery-twice")

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(send, range(4)))
        results = sorted(a.json()["result"] for a in answers)
        assert results == ["duplicate", "duplicate", "duplicate", "started"], [a.text for a in answers]
        wait_until(lambda: server.app.state.workers.stats()["runs_pending"] == 0, what="the run job to end")
        assert len(runner_of(server).started()) == 1
        assert server.app.state.workers.stats()["runs_submitted"] == 1
