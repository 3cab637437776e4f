"""Test runs that survive real suites (issue #13): a hang costs one per-test timeout, a crash loses nothing.

The plugin's watchdog ends a pytest whose test outlived its timeout (``pytest_plugin/fixloop_report.py``),
``run_tests`` starts a new pytest for the tests it had not reached (``tools/run_tests.py``), and what a
crashed or killed pytest had recorded is kept with the tests that never ran (``tools/round_results.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixloop.config import Settings, TestSettings
from fixloop.records import TestRun
from fixloop.tools.realness import check_realness
from fixloop.tools.run_tests import run_tests
from tests.conftest import CliRunner
from tests.tools.conftest import write_files

SWALLOWING_HANG = """
    import asyncio
    import unittest


    class RetriesForever(unittest.IsolatedAsyncioTestCase):
        async def test_client_retries_forever(self):
            while True:
                try:
                    await asyncio.sleep(0.05)
                except BaseException:
                    pass


    def test_after_hang_fails():
        assert 1 + 1 == 3, "the fault the hang used to hide"


    def test_after_hang_passes():
        assert True
"""
PLAIN_TESTS = "".join(f"def test_plain_{i}():\n    assert {i} >= 0\n\n\n" for i in range(20))
HANG_ID = "tests/test_hang.py::RetriesForever::test_client_retries_forever"


def test_the_25_line_hang_costs_one_timeout_and_every_result_is_kept(tmp_path: Path, run_cli: CliRunner) -> None:
    repo = write_files(tmp_path / "repo", {"tests/test_hang.py": SWALLOWING_HANG, "tests/test_plain.py": PLAIN_TESTS})
    argv = ["test", "--repo", str(repo), "tests/test_hang.py", "tests/test_plain.py", "--timeout", "5", "--json"]
    done = run_cli(*argv, "--out", str(tmp_path / "out"), timeout=120)  # a guard only, not a measure
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    run = TestRun.model_validate(report["run"])
    outcomes = {r.nodeid: r.outcome for r in run.results}
    assert len(outcomes) == 23 and not run.never_ran and not run.timed_out
    assert outcomes.pop(HANG_ID) == "failed"
    assert outcomes.pop("tests/test_hang.py::test_after_hang_fails") == "failed"
    assert set(outcomes.values()) == {"passed"}
    hung = next(r for r in run.results if r.nodeid == HANG_ID)
    assert hung.longrepr.startswith("Timeout: ") and "watchdog" in hung.longrepr
    # the stacks: every thread, and the pending asyncio task where the swallowed timeout hides
    assert "--- thread MainThread" in hung.longrepr and "--- asyncio task" in hung.longrepr
    assert "in test_client_retries_forever" in hung.longrepr and "await asyncio.sleep(0.05)" in hung.longrepr
    assert run.rounds == 2
    (end,) = run.child_exits
    assert (end.reason, end.last_test, end.restarted) == ("hang", HANG_ID, True)
    assert ("timeout", HANG_ID) in {(f["kind"], f["test"]) for f in report["findings"]}


CRASHING_SUITE = {
    "tests/test_crash.py": """
        import os
        import signal


        def test_before():
            pass


        def test_killed():
            os.kill(os.getpid(), signal.SIGKILL)  # what the OOM killer does


        def test_between():
            pass


        def test_exits():
            os._exit(3)


        def test_last():
            assert False, "runs only in the third pytest process"
    """
}
CRASH_IDS = [f"tests/test_crash.py::test_{name}" for name in ("before", "killed", "between", "exits", "last")]


def test_a_crashed_pytest_keeps_its_results_and_a_new_one_runs_the_rest(tmp_path: Path) -> None:
    repo = write_files(tmp_path / "repo", CRASHING_SUITE)
    run = run_tests(repo, ["tests"], Settings(), out_dir=tmp_path / "out", timeout=30)
    outcomes = {r.nodeid: r.outcome for r in run.results}
    assert list(outcomes) == CRASH_IDS and not run.never_ran and run.rounds == 3
    assert [outcomes[i] for i in CRASH_IDS] == ["passed", "error", "passed", "error", "failed"]
    killed, exited = run.child_exits
    assert (killed.reason, killed.exit_code, killed.signal, killed.last_test) == ("crash", -9, "SIGKILL", CRASH_IDS[1])
    assert (exited.reason, exited.exit_code, exited.signal, exited.last_test) == ("crash", 3, None, CRASH_IDS[3])
    assert killed.restarted and exited.restarted
    assert "Crashed: the pytest process ended (killed by SIGKILL)" in run.results[1].longrepr
    crashes = [f for f in check_realness(run, Settings()) if f.kind == "crash"]
    assert [(f.test, f.severity) for f in crashes] == [(CRASH_IDS[1], "error"), (CRASH_IDS[3], "error")]
    assert "killed by SIGKILL" in crashes[0].message and "exit status 3" in crashes[1].message


def test_without_restarts_a_crash_lists_the_tests_that_never_ran(tmp_path: Path) -> None:
    repo = write_files(tmp_path / "repo", CRASHING_SUITE)
    settings = Settings(tests=TestSettings(max_restarts=0))
    run = run_tests(repo, ["tests"], settings, out_dir=tmp_path / "out", timeout=30)
    assert [(r.nodeid, r.outcome) for r in run.results] == [(CRASH_IDS[0], "passed"), (CRASH_IDS[1], "error")]
    assert run.never_ran == CRASH_IDS[2:] and run.rounds == 1
    (end,) = run.child_exits
    assert (end.signal, end.last_test, end.restarted) == ("SIGKILL", CRASH_IDS[1], False)
    findings = {f.kind: f for f in check_realness(run, settings)}
    assert findings["never-ran"].message.startswith("never ran: 3 tests")
    assert all(nodeid in findings["never-ran"].evidence for nodeid in CRASH_IDS[2:])


def test_a_crash_before_collection_finished_says_so(tmp_path: Path) -> None:
    repo = write_files(
        tmp_path / "repo",
        {"tests/conftest.py": "import os\n\nos._exit(7)\n", "tests/test_a.py": "def test_a():\n    pass\n"},
    )
    run = run_tests(repo, ["tests/test_a.py"], Settings(), out_dir=tmp_path / "out", timeout=30)
    assert run.results == [] and run.never_ran == ["tests/test_a.py"]
    (end,) = run.child_exits
    assert (end.reason, end.exit_code, end.detail) == ("crash", 7, "before its collection finished")
    findings = {f.kind: f for f in check_realness(run, Settings())}
    assert "before its collection finished" in findings["crash"].message
    assert "pytest ended before its collection finished" in findings["never-ran"].message


def test_restarts_are_bounded(tmp_path: Path) -> None:
    hang = "def test_hang_{i}():\n    while True:\n        try:\n            time.sleep(5)\n"
    hang += "        except BaseException:\n            pass\n\n\n"
    hangs = "import time\n\n\n" + "".join(hang.format(i=i) for i in range(3)) + "def test_last():\n    pass\n"
    repo = write_files(tmp_path / "repo", {"tests/test_hangs.py": hangs})
    settings = Settings(tests=TestSettings(max_restarts=1, hang_grace=0.5))
    run = run_tests(repo, ["tests"], settings, out_dir=tmp_path / "out", timeout=1)
    assert run.rounds == 2
    assert [r.outcome for r in run.results] == ["failed", "failed"]
    assert run.never_ran == ["tests/test_hangs.py::test_hang_2", "tests/test_hangs.py::test_last"]
    assert [e.restarted for e in run.child_exits] == [True, False]
    assert "restarts ran out" in {f.kind: f for f in check_realness(run, settings)}["never-ran"].message


def test_a_suite_using_pytest_timeouts_thread_method_gets_its_timeout_and_the_rest_runs(tmp_path: Path) -> None:
    repo = write_files(
        tmp_path / "repo",
        {
            "pytest.ini": "[pytest]\ntimeout_method = thread\n",
            "tests/test_thread.py": """
                import time

                def test_sleeps():
                    time.sleep(60)

                def test_after():
                    pass
            """,
        },
    )
    run = run_tests(repo, ["tests"], Settings(), out_dir=tmp_path / "out", timeout=1)
    sleeps, after = run.results
    assert (sleeps.nodeid, after.outcome, run.rounds, run.never_ran) == (
        "tests/test_thread.py::test_sleeps",
        "passed",
        2,
        [],
    )
    assert sleeps.outcome == "error" and sleeps.longrepr.startswith("Timeout: pytest-timeout (thread method)")
    assert "in test_sleeps" in sleeps.longrepr  # its stack, as pytest-timeout dumped it
    (end,) = run.child_exits
    assert (end.reason, end.last_test, end.restarted) == ("hang", sleeps.nodeid, True)
    assert [f.kind for f in check_realness(run, Settings()) if f.test == sleeps.nodeid] == ["timeout"]


@pytest.mark.slow
def test_with_xdist_workers_a_hung_worker_is_replaced_and_every_result_is_kept(tmp_path: Path) -> None:
    repo = write_files(tmp_path / "repo", {"tests/test_hang.py": SWALLOWING_HANG, "tests/test_plain.py": PLAIN_TESTS})
    run = run_tests(repo, ["tests"], Settings(), out_dir=tmp_path / "out", timeout=3, workers=2)
    outcomes = {r.nodeid: r.outcome for r in run.results}
    assert len(outcomes) == 23 and not run.never_ran
    assert outcomes[HANG_ID] == outcomes["tests/test_hang.py::test_after_hang_fails"] == "failed"
    (end,) = run.child_exits  # xdist replaced the worker the watchdog ended: nothing was left to restart
    assert (end.reason, end.last_test, end.restarted) == ("hang", HANG_ID, False)


FROZEN_CLOCK = """
    import time

    import pytest

    REAL_TIME, REAL_MONOTONIC = time.time, time.monotonic


    @pytest.fixture
    def frozen(monkeypatch):
        # what freezegun does: time.time and time.monotonic return a fixed moment in the past
        monkeypatch.setattr(time, "time", lambda: 1_000_000_000.0)
        monkeypatch.setattr(time, "monotonic", lambda: 5.0)
        yield
        # freezegun undoes its patches in the fixture's teardown, while the teardown phase runs


    def test_with_frozen_time(frozen):
        REAL_SLEEP = time.sleep
        REAL_SLEEP(0.3)
        assert time.time() == 1_000_000_000.0


    def test_after_frozen_time():
        assert REAL_TIME() > 1_000_000_000.0 and REAL_MONOTONIC() > 0
"""


def test_a_test_that_freezes_the_clock_is_not_taken_for_a_hang(tmp_path: Path) -> None:
    """Found on the real corpus (itsdangerous + freezegun): the watchdog read the frozen clock and ended tests."""
    repo = write_files(tmp_path / "repo", {"tests/test_frozen.py": FROZEN_CLOCK})
    settings = Settings(tests=TestSettings(hang_grace=0.5))
    run = run_tests(repo, ["tests/test_frozen.py"], settings, out_dir=tmp_path / "out", timeout=2)
    assert {r.nodeid: r.outcome for r in run.results} == {
        "tests/test_frozen.py::test_with_frozen_time": "passed",
        "tests/test_frozen.py::test_after_frozen_time": "passed",
    }
    assert not run.child_exits and not run.never_ran
