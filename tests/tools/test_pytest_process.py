"""start_pytest: the target's pytest starts and the caller goes on; wait() reaps it once."""

from __future__ import annotations

import os
import signal
import stat
import threading
import time
from pathlib import Path

import pytest

from fixloop.config import Settings, TestSettings
from fixloop.errors import TestRunError
from fixloop.tools.pytest_process import PLUGIN_NAME, pytest_argv, start_pytest
from tests.tools.conftest import write_files

WAITS_FOR_GO = """
import os
import time
from pathlib import Path


def test_waits_for_go():
    go = Path(os.environ["GO_FILE"])
    deadline = time.monotonic() + 120
    while not go.exists():
        assert time.monotonic() < deadline, "nobody said go"
        time.sleep(0.02)
"""


def test_it_returns_while_pytest_runs_and_wait_gives_the_exit_code(tmp_path: Path) -> None:
    repo = write_files(tmp_path / "repo", {"tests/test_go.py": WAITS_FOR_GO})
    go = tmp_path / "go"
    started = start_pytest(repo, ["tests"], Settings(), env={"GO_FILE": str(go)}, out_dir=tmp_path / "out")
    # the test cannot end before the go file exists, so pytest is still running here
    assert started.process.poll() is None and started.exit_code is None
    assert started.command[started.command.index("-p") + 1] == PLUGIN_NAME
    go.touch()
    assert started.wait() == 0
    assert started.wait() == 0  # reaped once, answered again
    assert started.finished_at is not None and started.finished_at >= started.started_at
    assert not started.timed_out
    assert '"outcome": "passed"' in started.report_file.read_text(encoding="utf-8")
    assert started.junit_file.exists()


def test_an_interpreter_that_cannot_start_is_a_test_run_error(tmp_path: Path) -> None:
    repo = write_files(tmp_path / "repo", {"tests/test_a.py": "def test_a():\n    pass\n"})
    settings = Settings(tests=TestSettings(command=[str(tmp_path / "no-such-python"), "-m", "pytest"]))
    with pytest.raises(TestRunError, match="cannot start pytest"):
        start_pytest(repo, ["tests"], settings, out_dir=tmp_path / "out")


def test_an_interrupted_wait_stops_pytest_instead_of_leaving_it_running(tmp_path: Path) -> None:
    repo = write_files(tmp_path / "repo", {"tests/test_go.py": WAITS_FOR_GO})
    started = start_pytest(repo, ["tests"], Settings(), env={"GO_FILE": str(tmp_path / "never")}, out_dir=tmp_path)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGUSR1, interrupt)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGUSR1))  # Ctrl-C, as the terminal would send it
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            started.wait()
    finally:
        timer.cancel()
        signal.signal(signal.SIGUSR1, previous)
    assert started.process.poll() is not None  # pytest did not outlive the interrupted caller


def _python_in(repo: Path, folder: str) -> Path:
    python = repo / folder / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\n")
    return python


def test_the_repo_venv_or_dot_venv_runs_its_tests_unless_the_settings_name_an_interpreter(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    venv = _python_in(repo, "venv")
    assert pytest_argv(repo, Settings()) == ([str(venv), "-m", "pytest"], str(venv))
    dot_venv = _python_in(repo, ".venv")
    assert pytest_argv(repo, Settings())[1] == str(dot_venv)
    configured = Settings(tests=TestSettings(interpreter="/opt/py/bin/python"))
    assert pytest_argv(repo, configured) == (["/opt/py/bin/python", "-m", "pytest"], "/opt/py/bin/python")


PRINTS_A_SECRET_THEN_WAITS = WAITS_FOR_GO.replace(
    "def test_waits_for_go():", "def test_waits_for_go():\n    print('Authorization: Bearer ' + os.environ['TOKEN'])"
)


def test_raw_output_is_owner_only_while_pytest_runs(tmp_path: Path) -> None:
    """Until the run ends and its files are redacted, what the tests print (secrets included) is readable by
    the owner only: the folder pytest writes into is 0700, the console output and fixloop's report 0600."""
    repo = write_files(tmp_path / "repo", {"tests/test_go.py": PRINTS_A_SECRET_THEN_WAITS})
    go, out = tmp_path / "go", tmp_path / "OUT" / "iteration-1"
    out.mkdir(parents=True, mode=0o755)  # as the graph makes it, before the run
    (out / "pytest-output.txt").write_text("an earlier round\n")
    os.chmod(out / "pytest-output.txt", 0o644)
    env = {"GO_FILE": str(go), "TOKEN": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"}
    started = start_pytest(repo, ["tests", "-s"], Settings(), env=env, out_dir=out)
    try:
        assert started.process.poll() is None  # still running: the test waits for the go file
        for _ in range(600):  # the report file appears once the plugin is configured
            if started.report_file.exists():
                break
            time.sleep(0.05)
        assert stat.S_IMODE(out.stat().st_mode) == 0o700
        assert stat.S_IMODE(started.output_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(started.report_file.stat().st_mode) == 0o600
    finally:
        go.touch()
        started.wait()
    assert "Bearer eyJ" in started.output_file.read_text(encoding="utf-8")  # raw until sealed: private
    assert stat.S_IMODE(out.stat().st_mode) == 0o700  # JUnit XML too sits in the private folder
