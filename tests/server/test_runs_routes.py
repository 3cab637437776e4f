"""``/runs``, ``/runs/{thread}`` and the live Server-Sent Events of a run."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx

from tests.server.conftest import LiveFactory
from tests.server.helpers import API_TOKEN, ScriptedRunner, command_body, slack_headers, wait_until

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def read_events(response: httpx.Response, into: list[tuple[str, dict[str, object]]]) -> None:
    name = ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            into.append((name, json.loads(line[len("data: ") :])))
            if name == "end":
                break


def test_events_stream_progress_until_the_run_ends(live: LiveFactory) -> None:
    hold = threading.Event()
    runner = ScriptedRunner(hold=hold)
    with live(runner=runner) as server:
        body = command_body("websockets")
        thread_id = (
            httpx.post(f"{server.url}/slack/commands", content=body, headers=slack_headers(body))
            .json()["text"]
            .split("`")[1]
        )
        wait_until(lambda: thread_id in runner.runs, what="the run to exist")
        collected: list[tuple[str, dict[str, object]]] = []

        def listen() -> None:
            with httpx.stream("GET", f"{server.url}/runs/{thread_id}/events", headers=AUTH, timeout=60) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                read_events(response, collected)

        listener = threading.Thread(target=listen)
        listener.start()
        wait_until(lambda: collected, what="the first event")
        hold.set()
        wait_until(lambda: runner.runs[thread_id]["status"] == "awaiting_approval", what="approval wait")
        runner.approve(thread_id, by="alice", source="api")
        listener.join(timeout=60)
        names = [name for name, _ in collected]
        assert names[0] == "status" and collected[0][1]["status"] == "running"
        assert names[-1] == "end" and collected[-1][1]["status"] == "green"
        statuses = [data["status"] for name, data in collected if name == "status"]
        assert statuses[-1] == "green" and "awaiting_approval" in statuses
        kinds = [data["kind"] for name, data in collected if name == "progress"]
        for kind in ("selection", "results", "category", "pr", "approval-needed", "deploy", "status"):
            assert kind in kinds, kind
        category = next(d for n, d in collected if n == "progress" and d["kind"] == "category")
        assert category["root_cause"] == "the JWT audience check rejects every token"


def test_runs_list_and_run_json(live: LiveFactory, tmp_path: Path) -> None:
    runner = ScriptedRunner()
    runner.start(
        repo=tmp_path,
        focus="websockets",
        requested_by="carol",
        source="cli",
        llm="none",
        thread_id="t-123",
        scenario=None,
        out_dir=tmp_path / "out",
        extra={},
    )
    with live(runner=runner) as server:
        listing = httpx.get(f"{server.url}/runs", headers=AUTH).json()
        assert listing == {"runs": [{"thread_id": "t-123", "focus": "websockets", "status": "awaiting_approval"}]}
        run = httpx.get(f"{server.url}/runs/t-123", headers=AUTH)
        assert run.status_code == 200 and run.json()["prs"][0]["number"] == 1
        assert httpx.get(f"{server.url}/runs/nope", headers=AUTH).status_code == 404
        assert httpx.get(f"{server.url}/runs/..%2F..%2Fetc", headers=AUTH).status_code in (400, 404)
        assert httpx.get(f"{server.url}/runs/t-123").status_code == 401
