"""The worklog's categorization section says which failing tests the flaky re-runs left out, and why."""

from __future__ import annotations

from fixloop.agents import worklog_sections
from fixloop.agents.triage import categorize
from fixloop.records import ChildExit
from fixloop.state import IterationRecord
from tests.agents import failure_samples as s
from tests.agents.test_triage import WATCHDOG_HANG


def test_the_worklog_says_a_hung_test_was_not_rerun_for_flakiness() -> None:
    hung = "tests/test_fetch.py::test_fetch_retries"
    run = s.make_run([s.result(hung, longrepr=WATCHDOG_HANG, duration=13.0)])
    run.child_exits = [ChildExit(round=1, reason="hang", exit_code=86, last_test=hung, restarted=True)]
    record = IterationRecord(iteration=1, test_run=run, categories=categorize(run, []))
    text = "\n".join(worklog_sections._categorization([record]))
    assert "**Not re-run for flakiness** (1): ended as a hang or at the per-test timeout" in text
    assert f"a re-run would pay its timeout again — `{hung}`" in text
    assert "**pytest ended early** (round 1): hang" in text
