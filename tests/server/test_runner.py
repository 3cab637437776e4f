"""RunsRunner, the server's way to real runs: `stop` from chat lowers a live run to diagnose."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixloop.demo import run_demo
from fixloop.errors import UsageError
from fixloop.server.runner import RunsRunner


@pytest.fixture
def out(demo_out: Path) -> Path:
    """The run's output folder (``demo_out``: its demo target is stopped afterwards)."""
    return demo_out


class StopWhenDiagnosed:
    """The run's progress channel, through which someone in the chat thread says `stop` once it is diagnosed."""

    def __init__(self, runner: RunsRunner) -> None:
        self.runner = runner
        self.answers: list[str] = []

    def post(self, thread_id: str, text: str, *, kind: str = "progress") -> None:
        if text.startswith("categories:") and not self.answers:
            self.answers.append(self.runner.stop(thread_id, by="carol"))


@pytest.mark.slow
def test_stop_lowers_a_live_run_to_diagnose_and_it_ends_without_a_pr(out: Path) -> None:
    runner = RunsRunner()
    person = StopWhenDiagnosed(runner)
    result = run_demo(llm="scripted", out=out, requested_by="bob", notifier=person)  # the demo goes up to merge
    assert person.answers == [
        f"run {result.thread_id}: level lowered from merge to diagnose (asked by carol): "
        "no patch, PR or merge from now on"
    ]
    doc = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert doc["status"] == "diagnosed" and "stopped after diagnosis" in doc["outcome"]
    assert doc["prs"] == [] and doc["approvals"] == [] and doc["deploys"] == []
    assert json.loads((out / "stop-at.json").read_text(encoding="utf-8"))["by"] == "carol"
    with pytest.raises(UsageError, match="already ended"):
        runner.stop(result.thread_id, by="carol")
