"""Nothing left behind: a stopped or killed command stops every pytest process and target it started."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixloop.exit_codes import STOPPED_SIGINT, STOPPED_SIGTERM
from tests.conftest import cli_env

HANGING_TEST = """
import os, pathlib, time

def test_hangs():
    pathlib.Path(os.environ["HANG_MARKER"]).write_text(str(os.getpid()))
    time.sleep(3600)
"""


def _start_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    full_env = cli_env(env)
    return subprocess.Popen(
        [sys.executable, "-m", "fixloop", *args],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, proc: subprocess.Popen[str], limit: float = 120.0) -> None:
    deadline = time.monotonic() + limit
    while not path.exists() or not path.read_text():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the command ended before {path.name} appeared: {proc.returncode}\n{out}\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{path} never appeared")
        time.sleep(0.1)


def _target_pid(state_file: Path) -> int:
    """The pid recorded in a target's state file (read again while it is being written)."""
    for _ in range(100):
        try:
            return int(json.loads(state_file.read_text())["pid"])
        except (ValueError, KeyError, FileNotFoundError):
            time.sleep(0.05)
    pytest.fail(f"{state_file} never held a pid")


def _gone(pid: int, limit: float = 15.0) -> bool:
    """Whether ``pid`` is gone (a zombie awaiting its reaper counts as gone)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def hanging_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "hanging"
    (repo / "tests").mkdir(parents=True)
    (repo / "tests" / "test_hang.py").write_text(HANGING_TEST)
    return repo


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, STOPPED_SIGTERM), (signal.SIGINT, STOPPED_SIGINT)])
def test_a_stopped_fixloop_test_leaves_no_pytest_behind(
    hanging_repo: Path, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    marker = tmp_path / "pytest.pid"
    proc = _start_cli("test", "--repo", str(hanging_repo), "tests/test_hang.py", "--timeout", "0",
                      env={"HANG_MARKER": str(marker)})  # fmt: skip
    _wait_for(marker, proc)
    test_pid = int(marker.read_text())
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert f"stopped by {sig.name}" in err
    assert "Traceback" not in err
    assert _gone(test_pid), f"the hanging test's pytest (pid {test_pid}) is still running"


def test_a_killed_fixloop_test_takes_its_pytest_along(hanging_repo: Path, tmp_path: Path) -> None:
    """SIGKILL reaches no handler: the pytest child asked the kernel to die with its parent."""
    marker = tmp_path / "pytest.pid"
    proc = _start_cli("test", "--repo", str(hanging_repo), "tests/test_hang.py", "--timeout", "0",
                      env={"HANG_MARKER": str(marker)})  # fmt: skip
    _wait_for(marker, proc)
    test_pid = int(marker.read_text())
    proc.kill()
    proc.communicate(timeout=60)
    assert _gone(test_pid), f"the hanging test's pytest (pid {test_pid}) outlived a SIGKILL of fixloop"


def test_a_stopped_demo_leaves_no_target_behind(demo_out: Path) -> None:
    state_file = demo_out / "workspace" / ".fixloop" / "target.json"
    proc = _start_cli("demo", "--scenario", "handshake-500", "--llm", "none", "--out", str(demo_out))
    _wait_for(state_file, proc)
    target_pid = _target_pid(state_file)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == STOPPED_SIGTERM, err
    assert "Traceback" not in err
    assert _gone(target_pid), f"the demo's target (pid {target_pid}) is still running"
    assert not state_file.exists()


def test_a_stopped_eval_leaves_no_target_behind(tmp_path: Path) -> None:
    """The scenario runs in a worker process: the stop reaches the worker, which stops its target."""
    work = tmp_path / "work"
    proc = _start_cli("eval", "--stage", "fix", "--scenario", "handshake-500", "--llm", "none", "--workers", "2",
                      "--work-dir", str(work))  # fmt: skip
    deadline = time.monotonic() + 180
    while not (states := list(work.glob("**/.fixloop/target.json"))):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no target was started: {proc.communicate()}")
        time.sleep(0.1)
    target_pid = _target_pid(states[0])
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == STOPPED_SIGTERM, err
    assert _gone(target_pid), f"the eval's target (pid {target_pid}) is still running"
