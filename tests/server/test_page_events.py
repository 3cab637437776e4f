"""The run page's live stream: status, progress, ``changed`` against the rendered fingerprint, ``end`` after a grace."""

from __future__ import annotations

import json
from pathlib import Path

import anyio

from fixloop.server.page_events import fingerprint, page_events
from tests.server.helpers import ScriptedRunner


async def collect(runner: ScriptedRunner, since: str | None, notices: list[str]) -> list[tuple[str, dict[str, object]]]:
    events: list[tuple[str, dict[str, object]]] = []
    async for chunk in page_events(runner, "t-1", notices=lambda: notices, interval=0.01, since=since, grace=0.05):
        if chunk.startswith("event: "):
            name, data = chunk.split("\n")[:2]
            events.append((name[len("event: ") :], json.loads(data[len("data: ") :])))
    return events


def test_a_change_since_the_render_is_sent_and_a_terminal_run_ends_the_stream(tmp_path: Path) -> None:
    runner = ScriptedRunner()
    runner.start(
        repo=tmp_path, focus="websockets", requested_by="bob", source="cli", llm="none",
        thread_id="t-1", scenario=None, out_dir=tmp_path, extra={},
    )  # fmt: skip
    rendered = fingerprint(runner.status("t-1"), [])
    runner.approve("t-1", by="alice", source="page")
    events = anyio.run(collect, runner, rendered, ["approve by alice done"])
    names = [name for name, _ in events]
    assert names[0] == "status" and events[0][1]["status"] == "green"
    assert "progress" in names and "changed" in names and names[-1] == "end"
    unchanged = anyio.run(collect, runner, fingerprint(runner.status("t-1"), []), [])
    assert "changed" not in [name for name, _ in unchanged]
