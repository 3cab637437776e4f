"""Target management: the example started, inspected and stopped as a real process."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from fixloop.errors import TargetError
from fixloop.scenarios import load_scenario, prepare_workspace
from fixloop.target import available_test_env, restart_target, start_target, stop_target, target_status, test_env
from tests.conftest import CliRunner


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return prepare_workspace(tmp_path / "chatbackend", None)


def health(url: str) -> dict[str, str]:
    with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
        return json.loads(response.read())


def test_start_status_stop(workspace: Path) -> None:
    info = start_target(workspace)
    try:
        body = health(info.http_url)
        assert body == {"status": "ok", "service": "chatbackend", "revision": info.revision}
        assert len(info.revision) == 40
        status = target_status(workspace)
        assert status is not None and status.running and status.pid == info.pid
        env = test_env(workspace)
        assert env["CHAT_HTTP_URL"] == info.http_url
        assert env["CHAT_WS_URL"] == f"ws://127.0.0.1:{info.port}/ws"
        assert len(env["CHAT_JWT_SECRET"]) >= 32
        state = workspace / ".fixloop" / "target.json"
        assert stat.S_IMODE(state.stat().st_mode) == 0o600
        with pytest.raises(TargetError, match="already running"):
            start_target(workspace)
    finally:
        assert stop_target(workspace)
    assert target_status(workspace) is None
    assert test_env(workspace) == {}
    # with no target of its own the tests get [target]'s configured service (tests/test_target_test_env.py)
    assert available_test_env(workspace)["CHAT_HTTP_URL"] == "http://127.0.0.1:8765"
    assert not stop_target(workspace)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{info.http_url}/health", timeout=2)


def test_restart_keeps_port_and_secret(workspace: Path) -> None:
    first = start_target(workspace)
    try:
        secret = test_env(workspace)["CHAT_JWT_SECRET"]
        second = restart_target(workspace)
        assert second.pid != first.pid
        assert second.port == first.port
        assert test_env(workspace)["CHAT_JWT_SECRET"] == secret
        assert health(second.http_url)["status"] == "ok"
    finally:
        stop_target(workspace)


def test_state_dir_is_ignored_by_git(workspace: Path) -> None:
    start_target(workspace)
    try:
        status = subprocess.run(["git", "status", "--porcelain"], cwd=workspace, capture_output=True, text=True)
        assert status.stdout.strip() == ""
    finally:
        stop_target(workspace)


def test_crash_on_start_is_a_clear_error(workspace: Path) -> None:
    with pytest.raises(TargetError) as info:
        start_target(workspace, env={"CHAT_PORT": "not-a-port"})
    assert "exited with code 2" in info.value.message
    assert "CHAT_PORT must be a int" in info.value.message
    failed = target_status(workspace)
    assert failed is not None and not failed.running
    assert "CHAT_PORT must be a int" in failed.error
    assert test_env(workspace) == {}
    # the tests still get the down target's URLs: they fail with connection refused, as against a down staging
    down = available_test_env(workspace)
    assert down["CHAT_HTTP_URL"] == failed.http_url and down["CHAT_WS_URL"] == failed.ws_url
    assert len(down["CHAT_JWT_SECRET"]) >= 32
    with pytest.raises(urllib.error.URLError, match="Connection refused"):
        urllib.request.urlopen(f"{down['CHAT_HTTP_URL']}/health", timeout=2)
    logged = [json.loads(line) for line in (workspace / ".fixloop" / "target.log").read_text().splitlines()]
    assert logged[-1]["severity"] == "CRITICAL"
    assert "startup failed" in logged[-1]["jsonPayload"]["message"]
    info2 = start_target(workspace)  # a failed start does not block the next one
    try:
        assert health(info2.http_url)["status"] == "ok"
    finally:
        assert stop_target(workspace)


def test_cli_reports_a_failed_start(tmp_path: Path, run_cli: CliRunner) -> None:
    repo = prepare_workspace(tmp_path / "ws", load_scenario("missing-env"))
    up = run_cli("target", "up", "--repo", str(repo))
    assert up.returncode == 1
    assert "CHAT_AGENT_MODEL" in up.stderr
    assert "Traceback" not in up.stderr
    status = run_cli("target", "status", "--repo", str(repo))
    assert "the last start failed" in status.stdout


def test_cli_up_status_down(workspace: Path, run_cli: CliRunner) -> None:
    up = run_cli("target", "up", "--repo", str(workspace))
    try:
        assert up.returncode == 0, up.stderr
        assert "target up: http://127.0.0.1:" in up.stdout
        secret_file = json.loads((workspace / ".fixloop" / "target.json").read_text())
        assert secret_file["secret"] not in up.stdout + up.stderr
        status = run_cli("target", "status", "--repo", str(workspace), "--json")
        assert status.returncode == 0, status.stderr
        reported = json.loads(status.stdout)
        assert reported["running"] is True
        assert "secret" not in status.stdout
        assert health(reported["http_url"])["revision"] == reported["revision"]
        # the process outlives the CLI that started it
        os.kill(reported["pid"], 0)
    finally:
        down = run_cli("target", "down", "--repo", str(workspace))
    assert down.returncode == 0, down.stderr
    assert "target stopped" in down.stdout
    status = run_cli("target", "status", "--repo", str(workspace))
    assert "no target recorded" in status.stdout


def test_cli_bad_repo_is_one_line(run_cli: CliRunner, tmp_path: Path) -> None:
    done = run_cli("target", "up", "--repo", str(tmp_path / "missing"))
    assert done.returncode != 0
    assert "does not exist" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_defaults_to_the_bundled_example(run_cli: CliRunner) -> None:
    done = run_cli("target", "status", "--json")
    assert done.returncode == 0, done.stderr
    assert "running" in json.loads(done.stdout)


def test_status_ignores_a_reused_pid(workspace: Path) -> None:
    """A record whose pid now belongs to another program is reported as not running, and not killed."""
    other = subprocess.Popen(["sleep", "30"], cwd="/")
    try:
        state = {
            "pid": other.pid,
            "port": 1,
            "http_url": "http://127.0.0.1:1",
            "ws_url": "ws://127.0.0.1:1/ws",
            "log_file": "",
            "revision": "x",
            "started_at": "",
            "secret_env": "CHAT_JWT_SECRET",
            "secret": "s",
        }
        (workspace / ".fixloop").mkdir()
        (workspace / ".fixloop" / "target.json").write_text(json.dumps(state))
        status = target_status(workspace)
        assert status is not None and not status.running
        assert test_env(workspace) == {}
        assert not stop_target(workspace)
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_stray_shell_variables_do_not_reach_the_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A CHAT_* variable in the caller's environment must not hide a missing-env fault."""
    repo = prepare_workspace(tmp_path / "ws", load_scenario("missing-env"))
    monkeypatch.setenv("CHAT_AGENT_MODEL", "from-the-shell")
    with pytest.raises(TargetError, match="CHAT_AGENT_MODEL"):
        start_target(repo)
    info = start_target(repo, env={"CHAT_AGENT_MODEL": "given-explicitly"})
    assert stop_target(repo)
    assert info.running
