"""A model endpoint that goes down mid-run: reported as an outage, never as "the model gave no patch"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixloop.exit_codes import GAVE_UP
from tests.conftest import CliRunner
from tests.graphs.conftest import read_run


@pytest.mark.slow
def test_an_endpoint_answering_503_mid_run_ends_the_run_as_an_outage(run_cli: CliRunner, demo_out: Path) -> None:
    """The scripted stand-in answers the five whys, then 503 Service Unavailable to every fix call."""
    steps = {"fix": ["503"]}
    proc = run_cli(
        "demo", "--scenario", "handshake-500", "--llm", "scripted", "--out", str(demo_out),
        env={"FIXLOOP_SCRIPTED_STEPS": json.dumps(steps), "FIXLOOP_LLM__MAX_RETRIES": "1"},
    )  # fmt: skip
    assert proc.returncode == GAVE_UP, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    run = read_run(demo_out)
    assert run["status"] == "gave_up"
    assert run["outcome"].startswith("model endpoint unreachable"), run["outcome"]
    assert "HTTP 503" in run["outcome"]
    assert "GAVE_UP — model endpoint unreachable" in proc.stdout
    for category in run["iterations"][0]["categories"]:
        assert category["five_whys"]["method"] == "llm"  # the model answered before it went down
        (attempt,) = category["attempts"]  # no second attempt against a dead endpoint
        assert attempt["outcome"].startswith("not attempted: the model endpoint is unreachable")
        assert "model-unavailable" in {f["kind"] for f in category["investigation_findings"]}
    worklog = (demo_out / "worklog.md").read_text(encoding="utf-8")
    assert "gave no patch" not in worklog
    assert "The previous attempt failed" not in worklog  # the outage was never fed back to the model as feedback
    assert "the model was not reached" in worklog
