"""Repro 6 of issue #15: under a pipe, the flaky re-runs announce themselves (no 50 s silence)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import CliRunner


@pytest.mark.slow
def test_re_runs_announce_themselves_with_their_step_and_counter(run_cli: CliRunner, demo_out: Path) -> None:
    proc = run_cli(
        "demo", "--scenario", "handshake-500", "--llm", "none", "--out", str(demo_out),
        env={"FIXLOOP_TESTS__FLAKY_RERUNS": "2"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    stamped = [line for line in proc.stderr.splitlines() if re.match(r"\d\d:\d\d:\d\d ", line)]
    for step in (1, 2):
        announced = [line for line in stamped if f"re-run {step}/2" in line]
        assert announced, proc.stderr[-3000:]
        assert any(re.search(r"\d+/\d+ tests, done", line) for line in announced), announced
    first_run = [line for line in stamped if " tests: iteration 1" in line]
    # the first phase (P1) runs first: its counter ends at its own total
    done = re.search(r"phase P1, (\d+) targets, (\d+)/(\d+) tests, done", first_run[-1]) if first_run else None
    assert done and done.group(2) == done.group(3) != "0", first_run
