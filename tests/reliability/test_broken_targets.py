"""A target that crashes on start (a required env var missing) and a test that hangs, in one real run
(``fixloop run --llm none`` in a subprocess): each becomes a clear category or finding, the run goes on
to a diagnosis, never a traceback."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fixloop.errors import TargetError
from fixloop.exit_codes import DIAGNOSED
from fixloop.scenarios import load_scenario, prepare_workspace
from fixloop.target import start_target, stop_target
from tests.conftest import CliRunner
from tests.reliability.conftest import Tally

HANGING = "tests/e2e/staging/test_1_websocket_events_staging.py::test_hangs_forever"
HANG_TEST = '''

def test_hangs_forever() -> None:
    """Planted by the reliability suite: blocks until the per-test timeout stops it."""
    import time

    time.sleep(3600)
'''


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_crashing_target_missing_env_and_a_hanging_test_are_findings_and_the_run_goes_on(
    run_cli: CliRunner, tmp_path: Path, tally: Tally
) -> None:
    repo = prepare_workspace(tmp_path / "ws", load_scenario("missing-env"))  # CHAT_AGENT_MODEL now required
    test_file = repo / HANGING.split("::")[0]
    test_file.write_text(test_file.read_text(encoding="utf-8") + HANG_TEST, encoding="utf-8")
    subprocess.run(["git", "commit", "-q", "-am", "Add a long-running check"], cwd=repo, check=True)
    with pytest.raises(TargetError) as crashed:  # the target crashes on start: a clear one-line error
        start_target(repo)
    assert "CHAT_AGENT_MODEL" in crashed.value.one_line() or "exited" in crashed.value.one_line()
    tally["target-crashed-on-start"] = 1
    out = tmp_path / "out"
    try:
        proc = run_cli(
            "run", "--repo", str(repo), "--focus", "websockets", "--llm", "none", "--out", str(out),
            env={"FIXLOOP_TESTS__TIMEOUT": "5", "FIXLOOP_LOGS__MARGIN_SECONDS": "600"}, timeout=900,
        )  # fmt: skip
    finally:
        stop_target(repo)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-3000:]
    assert proc.returncode == DIAGNOSED, proc.stderr[-3000:]
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["status"] == "diagnosed", run["outcome"]
    iteration = run["iterations"][0]
    outcomes = {r["nodeid"]: r["outcome"] for r in iteration["results"]}
    assert outcomes.get(HANGING) in ("failed", "error"), outcomes.get(HANGING)  # stopped, not waited for
    by_kind = {c["kind"]: c for c in iteration["categories"]}  # (several environment categories: the last one)
    tally["categories"] = len(by_kind)
    assert "timeout" in by_kind and HANGING in by_kind["timeout"]["tests"], {k: c["tests"] for k, c in by_kind.items()}
    assert "environment" in by_kind, sorted(by_kind)  # nothing answers: the target is down
    environment = json.dumps([c for c in iteration["categories"] if c["kind"] == "environment"])
    assert "ConnectionRefusedError" in environment  # the tests reach for the down target, as against staging
    assert "CHAT_AGENT_MODEL" in environment  # the log evidence (crash at start, in the window) names the cause
    assert all(len(c["five_whys"]["steps"]) >= 5 for c in by_kind.values())
    worklog = (out / "worklog.md").read_text(encoding="utf-8")
    assert "test_hangs_forever" in worklog
    tally["tests"] = len(outcomes)
