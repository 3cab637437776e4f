"""`[autonomy] quarantine_flaky`: a flaky category gets a "quarantine, not a fix" PR that only marks the test
with the repo's own registered flaky marker; it waits for a human approval like any PR, then merges.
Driven in process through ``runs.start_run`` / ``approve_run`` with the scripted model (real target, real git)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from fixloop.integrations.codehost import default_remote
from fixloop.integrations.codehost.local import LocalCodeHost
from fixloop.runs import RunRequest, approve_run, run_status, start_run
from fixloop.scenarios import load_scenario, prepare_workspace
from fixloop.target import start_target, stop_target
from tests.graphs.test_report_only import FLAKY_RERUNS, FLAKY_TRIES

GIT = ["git", "-c", "user.name=fixloop-test", "-c", "user.email=test@fixloop.invalid"]


def _workspace_with_a_flaky_marker(tmp_path: Path) -> Path:
    """flaky-race, plus what its owners would configure: a registered `flaky` marker and quarantine on."""
    repo = prepare_workspace(tmp_path / "ws", load_scenario("flaky-race"))
    ini = repo / "pytest.ini"
    ini.write_text(ini.read_text(encoding="utf-8").rstrip("\n") + "\n    flaky: known flaky, quarantined\n")
    toml = repo / "fixloop.toml"
    text = toml.read_text(encoding="utf-8").replace("[tests]\n", f"[tests]\nflaky_reruns = {FLAKY_RERUNS}\n")
    toml.write_text(text + "\n[autonomy]\nquarantine_flaky = true\n", encoding="utf-8")
    subprocess.run([*GIT, "commit", "-qam", "Register a flaky marker"], cwd=repo, check=True)
    return repo


def _first_failing_run(repo: Path, tmp_path: Path) -> dict[str, Any]:
    """Runs until the first test run sees the race fail (see test_report_only for the odds)."""
    for attempt in range(FLAKY_TRIES):
        request = RunRequest(
            repo=repo, focus="websockets", requested_by="carol", llm="scripted", scenario="flaky-race",
            out_dir=tmp_path / f"out-{attempt}",
        )  # fmt: skip
        doc = run_status(start_run(request))
        if doc["iterations"][0]["counts"].get("failed", 0):
            return doc
        assert doc["status"] == "green" and doc["prs"] == []
    pytest.fail(f"the flaky fault never failed in {FLAKY_TRIES} runs")


@pytest.mark.slow
def test_quarantine_pr_only_marks_the_flaky_test_and_waits_for_approval(tmp_path: Path) -> None:
    repo = _workspace_with_a_flaky_marker(tmp_path)
    start_target(repo)
    try:
        run = _first_failing_run(repo, tmp_path)
        assert run["status"] == "awaiting_approval", run["outcome"]
        [category] = run["iterations"][0]["categories"]
        assert category["kind"] == "flaky" and category["attempts"] == [] and category["fix"] is None
        [pr] = run["prs"]
        assert pr["title"].startswith("fixloop: quarantine, not a fix: mark 1 flaky test flaky")
        assert category["pr"]["number"] == pr["number"] and pr["state"] == "open"
        host = LocalCodeHost(repo, default_remote(repo))
        body = host.get_pr(pr["number"]).body
        assert body.startswith("**Quarantine, not a fix.**") and "needs a human approval" in body
        assert "(registered in `pytest.ini`)" in body and "passed" in body  # the re-runs are the evidence
        diff = subprocess.run(
            ["git", "diff", "HEAD", pr["branch"]], cwd=repo, capture_output=True, text=True, check=True
        ).stdout
        changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
        assert changed == ["+@pytest.mark.flaky"], diff  # only the marker: nothing in the code is touched
        assert f"+++ b/{category['tests'][0].split('::')[0]}" in diff

        done = approve_run(run["thread_id"], by="alice")
        assert [(p["number"], p["state"]) for p in done["prs"]] == [(pr["number"], "merged")]
        assert len(host.list_prs()) == 1  # a flaky test seen again is already marked: no second PR
        if done["status"] != "green":  # the race failed again after the merge: reported, nothing to mark
            assert done["status"] == "diagnosed" and "already marked flaky" in done["outcome"], done["outcome"]
    finally:
        stop_target(repo)
