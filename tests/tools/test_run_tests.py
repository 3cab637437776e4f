from __future__ import annotations

import socket
import stat
import sys
from pathlib import Path

import pytest

from fixloop.config import Settings, TestSettings
from fixloop.errors import TestRunError
from fixloop.tools.realness import check_realness
from fixloop.tools.run_tests import run_tests
from tests.tools.conftest import MixedRun, write_files


def test_outcomes_phases_and_real_output(mixed_run: MixedRun) -> None:
    run = mixed_run.run
    outcomes = {r.nodeid.split("::")[-1]: (r.outcome, r.phase) for r in run.results}
    assert outcomes == {
        "test_talks_to_target": ("passed", "call"),
        "test_fake_instant": ("passed", "call"),
        "test_fails_with_output": ("failed", "call"),
        "test_needs_docker": ("skipped", "setup"),
        "test_hangs": ("failed", "call"),
        "test_setup_hangs": ("error", "setup"),
        "test_swallows_error": ("passed", "call"),
        "test_known_bug": ("xfailed", "call"),
    }
    failed = mixed_run.result("test_fails_with_output")
    assert "server answered 500" in failed.longrepr and "assert 1 + 1 == 3" in failed.longrepr
    assert failed.stdout == "about to compare\n"
    assert failed.file == "tests/e2e/test_chat_e2e.py"
    assert failed.started_at is not None and failed.finished_at is not None
    assert failed.started_at <= failed.finished_at
    assert mixed_run.result("test_needs_docker").skip_reason == "Docker unavailable"
    assert "swallowed: handshake failed" in mixed_run.result("test_swallows_error").log
    assert "xfail" in mixed_run.result("test_known_bug").keywords
    assert run.exit_code == 1 and not run.timed_out


def test_connections_the_test_opened_are_recorded(mixed_run: MixedRun) -> None:
    talks = mixed_run.result("test_talks_to_target")
    assert [(c.host, c.port, c.count) for c in talks.connections] == [("127.0.0.1", mixed_run.port, 1)]
    assert talks.stdout == "hello from the target test\n"
    assert mixed_run.result("test_fake_instant").connections == []


def test_per_test_timeout_fails_the_hung_test_and_the_run_goes_on(mixed_run: MixedRun) -> None:
    hung = mixed_run.result("test_hangs")
    assert "Timeout" in hung.longrepr and "time.sleep(60)" in hung.longrepr
    setup = mixed_run.result("test_setup_hangs")
    assert "Timeout" in setup.longrepr
    # tests after the hung ones still ran
    assert mixed_run.result("test_swallows_error").outcome == "passed"


def test_collection_errors_junit_and_command(mixed_run: MixedRun) -> None:
    run = mixed_run.run
    assert len(run.collection_errors) == 1
    assert run.collection_errors[0].startswith("tests/e2e/test_broken_import.py")
    assert "module_that_does_not_exist" in run.collection_errors[0]
    assert run.junit_xml == str(mixed_run.out / "junit.xml")
    assert "<testsuite" in Path(run.junit_xml).read_text()
    assert run.command[1:5] == ["-m", "pytest", "-p", "fixloop_report"]
    assert "--continue-on-collection-errors" in run.command
    assert run.interpreter == sys.executable and run.cwd == str(mixed_run.repo)
    assert run.collected == 8


def test_fallback_timeout_dumps_stacks_without_pytest_timeout(tmp_path: Path) -> None:
    repo = write_files(
        tmp_path / "repo",
        {
            "tests/test_hang.py": """
                import time

                def test_hangs_forever():
                    time.sleep(60)

                def test_after():
                    pass
            """
        },
    )
    run = run_tests(repo, ["tests"], Settings(), out_dir=tmp_path / "out", timeout=1, extra_args=["-p", "no:timeout"])
    hung, after = run.results
    assert hung.outcome == "failed"
    assert "fixloop_report" in hung.longrepr and "stacks at timeout" in hung.longrepr
    assert "test_hangs_forever" in hung.longrepr  # the dumped stack names the hung test
    assert after.outcome == "passed"


@pytest.mark.slow
def test_the_run_timeout_keeps_the_results_so_far_and_lists_the_rest(tmp_path: Path) -> None:
    repo = write_files(
        tmp_path / "repo",
        {
            "tests/test_stuck.py": """
                import time

                def test_first():
                    pass

                def test_stuck():
                    time.sleep(600)

                def test_never_reached():
                    pass
            """
        },
    )
    # no per-test limit: only the whole-run limit ends it (generous: a loaded machine starts pytest slowly)
    run = run_tests(repo, ["tests"], Settings(), out_dir=tmp_path / "out", timeout=0, run_timeout=20)
    assert run.timed_out and run.rounds == 1
    assert "whole run hit its timeout" in run.results[-1].longrepr
    assert [(r.nodeid.split("::")[1], r.outcome) for r in run.results] == [
        ("test_first", "passed"),
        ("test_stuck", "error"),
    ]
    assert run.never_ran == ["tests/test_stuck.py::test_never_reached"]
    (end,) = run.child_exits
    assert (end.reason, end.last_test) == ("run-timeout", "tests/test_stuck.py::test_stuck")
    findings = {f.kind: f for f in check_realness(run, Settings())}
    assert "whole run hit its timeout" in findings["never-ran"].message


def test_repo_venv_interpreter_is_preferred_and_env_is_passed(tmp_path: Path) -> None:
    repo = write_files(
        tmp_path / "repo",
        {
            "tests/test_env.py": """
                import os

                def test_env():
                    assert os.environ["FROM_REPO_VENV"] == "1"
                    assert os.environ["CHAT_WS_URL"] == "ws://127.0.0.1:1/ws"
            """
        },
    )
    venv_python = repo / ".venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.write_text(f'#!/bin/sh\nFROM_REPO_VENV=1 exec "{sys.executable}" "$@"\n')
    venv_python.chmod(venv_python.stat().st_mode | stat.S_IEXEC)
    run = run_tests(repo, ["tests"], Settings(), env={"CHAT_WS_URL": "ws://127.0.0.1:1/ws"}, out_dir=tmp_path / "o")
    assert run.interpreter == str(venv_python)
    assert [r.outcome for r in run.results] == ["passed"]


def test_configured_command_and_repo_relative_nodeids_from_a_subfolder_rootdir(tmp_path: Path) -> None:
    repo = write_files(
        tmp_path / "repo",
        {"backend/pytest.ini": "[pytest]\n", "backend/tests/test_sub.py": "def test_sub():\n    pass\n"},
    )
    prefix = [sys.executable, "-m", "pytest", "-o", "console_output_style=classic"]
    run = run_tests(repo, ["backend/tests"], Settings(tests=TestSettings(command=prefix)), out_dir=tmp_path / "o")
    assert run.command[:5] == prefix
    # pytest's rootdir is backend/, yet node ids stay relative to the repo (runnable from its root)
    assert [r.nodeid for r in run.results] == ["backend/tests/test_sub.py::test_sub"]


@pytest.mark.slow
def test_parallel_workers_via_xdist_keep_every_record(tmp_path: Path, target_listener: socket.socket) -> None:
    port = target_listener.getsockname()[1]
    body = f"import socket\n\ndef test_{{i}}():\n    socket.create_connection(('127.0.0.1', {port})).close()\n"
    repo = write_files(tmp_path / "repo", {f"tests/test_p{i}.py": body.format(i=i) for i in range(4)})
    run = run_tests(repo, ["tests"], Settings(), out_dir=tmp_path / "o", workers=2)
    assert run.command[run.command.index("-n") + 1] == "2"
    assert sorted(r.nodeid for r in run.results) == [f"tests/test_p{i}.py::test_{i}" for i in range(4)]
    assert all(r.outcome == "passed" and r.connections[0].port == port for r in run.results)


def test_missing_repo_is_a_test_run_error(tmp_path: Path) -> None:
    with pytest.raises(TestRunError, match="not a folder"):
        run_tests(tmp_path / "nope", ["tests"], Settings())
