"""Decisions that arrive at once on one run (issue #16), through Slack with the real run graph.

40 refused clicks at the same moment are all recorded, each once, and the run still answers a real
approval; the same approve click delivered twice at once is one decision: one merge, one deploy, one
re-test, and the run ends green. One driver per run is enforced by the run lock (``fixloop.run_lock``).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from fixloop.integrations.slack.blocks import APPROVE_ACTION
from fixloop.integrations.slack.local_slack_server import LocalSlackServer, SlackMessage
from fixloop.server.runner import RunsRunner
from tests.server.conftest import LiveFactory
from tests.server.helpers import button_value, click_body, slack_headers, wait_until
from tests.server.test_e2e_slack_demo import RUN_TIMEOUT, is_approval, require_real_runs, send_command, stopping

REFUSED_CLICKS = 40
REFUSED_USERS = ("UMALLORY", "UBOB", "UCAROL")  # not approvers but bob, the requester (four-eyes)


def _click(url: str, slack: LocalSlackServer, user: str, approval: SlackMessage, age: int) -> int:
    """One approve click; ``age`` seconds back-dates its signature so that each click is a distinct request
    (the server takes each Slack signature once: a byte-identical replay is refused before any decision)."""
    body = click_body(
        APPROVE_ACTION,
        button_value(approval.blocks, APPROVE_ACTION),
        user=user,
        channel=approval.channel,
        message_ts=approval.ts,
        response_url=slack.response_url(user),
        thread_ts=approval.thread_ts,
    )
    headers = slack_headers(body, timestamp=int(time.time()) - age)
    response = httpx.post(f"{url}/slack/interactions", content=body, headers=headers, timeout=120)
    return response.status_code


def _all_at_once(url: str, slack: LocalSlackServer, users: list[str], approval: SlackMessage) -> None:
    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        codes = list(pool.map(lambda n: _click(url, slack, users[n], approval, age=n), range(len(users))))
    assert codes == [200] * len(users), codes


def _decisions(run: dict[str, Any]) -> list[tuple[str, str]]:
    return [(a["by"], a["decision"]) for a in run["approvals"]]


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_forty_refusals_at_once_then_a_double_approve_click_end_green_with_one_deploy(
    live: LiveFactory, isolated_fixloop_home: Path
) -> None:
    require_real_runs()
    runner = RunsRunner()
    # max_pending above the 40 clicks: this test is about concurrent decisions, not the busy answer
    with (
        live(runner=runner, default_repo="demo", poll_interval=0.5, max_pending=64) as server,
        stopping(isolated_fixloop_home),
    ):
        slack = server.slack
        thread_id = send_command(server.url, slack, "UBOB")
        approval = slack.wait_for(lambda m: is_approval(m) or m.text.startswith(":x:"), timeout=RUN_TIMEOUT)
        assert is_approval(approval), approval.text

        users = [REFUSED_USERS[i % len(REFUSED_USERS)] for i in range(REFUSED_CLICKS)]
        _all_at_once(server.url, slack, users, approval)
        wait_until(
            lambda: len(runner.status(thread_id)["approvals"]) >= REFUSED_CLICKS,
            timeout=RUN_TIMEOUT,
            what="the 40 refusals to be recorded",
        )
        run = runner.status(thread_id)
        assert run["status"] == "awaiting_approval", run["status"]
        decisions = _decisions(run)
        assert len(decisions) == REFUSED_CLICKS and {d for _, d in decisions} == {"refused"}, decisions
        by_user = {name: sum(1 for by, _ in decisions if by == name) for name in ("mallory", "bob", "carol")}
        assert by_user == {"mallory": 14, "bob": 13, "carol": 13}, by_user
        wait_until(
            lambda: len([m for m in slack.messages if m.text.startswith(":no_entry: approve by")]) >= REFUSED_CLICKS,
            what="every refusal to be answered in Slack",
        )

        _all_at_once(server.url, slack, ["UALICE", "UALICE"], approval)
        end = slack.wait_for(
            lambda m: m.thread_ts == approval.thread_ts and m.text.startswith((":x:", f"Run `{thread_id}` is *")),
            timeout=RUN_TIMEOUT,
        )
        assert "is *green*" in end.text, slack.transcript(approval.channel, approval.thread_ts or "")
        wait_until(
            lambda: any("not waiting for approval" in m.text for m in slack.messages),
            what="the second click to be answered: the run no longer waits",
        )
        run = runner.status(thread_id)
        assert run["status"] == "green"
        assert [d for d in _decisions(run) if d[1] != "refused"] == [("alice", "approve")]
        assert len(run["deploys"]) == 1, run["deploys"]
        assert all(p["state"] == "merged" for p in run["prs"]) and run["prs"]
        assert len(run["iterations"]) >= 2, "the approval leads to a re-test"
        for iteration in run["iterations"]:  # each test reported once (two drivers once wrote 36 results for 18)
            nodeids = [r["nodeid"] for r in iteration["results"]]
            assert nodeids and len(nodeids) == len(set(nodeids)), iteration["iteration"]
