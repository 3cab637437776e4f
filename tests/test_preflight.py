"""Preflight: a run whose services do not answer stops before any work, with one line naming each."""

from __future__ import annotations

import socket
import subprocess
import threading
from pathlib import Path

from github import Auth, Github

from fixloop.exit_codes import ERROR
from fixloop.integrations.codehost.github import GitHubCodeHost
from fixloop.preflight import Check, codehost_check, run_checks
from tests.conftest import CliRunner

SECRET_KEY = "sk-preflight-canary-0123456789"
MARKER_TEST = """
import os, pathlib

def test_marker():
    pathlib.Path(os.environ["RAN_MARKER"]).write_text("ran")
"""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed when the socket is: nothing listens there


def _repo(tmp_path: Path, settings: str = "") -> Path:
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    (repo / "tests" / "test_marker.py").write_text(MARKER_TEST)
    if settings:
        (repo / "fixloop.toml").write_text(settings)
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "baseline"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *argv], cwd=repo, check=True)
    return repo


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def test_a_model_endpoint_that_is_down_stops_the_run_before_any_test(run_cli: CliRunner, tmp_path: Path) -> None:
    port = _closed_port()
    repo, marker, out = _repo(tmp_path), tmp_path / "ran", tmp_path / "out"
    proc = run_cli(
        "run", "--repo", str(repo), "--focus", "marker", "--llm", "openai", "--out", str(out),
        env={"OPENAI_API_KEY": SECRET_KEY, "FIXLOOP_LLM__BASE_URL": f"http://127.0.0.1:{port}/v1",
             "RAN_MARKER": str(marker)},
    )  # fmt: skip
    assert proc.returncode == ERROR, proc.stdout + proc.stderr
    line = _one_error_line(proc.stderr)
    assert line.startswith("fixloop: error: model endpoint:"), line
    assert f"http://127.0.0.1:{port}/v1" in line and "does not answer" in line
    assert SECRET_KEY not in proc.stdout + proc.stderr
    assert not marker.exists(), "a test ran although the model endpoint was down"
    assert not (out / "run.json").exists()
    assert "no runs yet" in run_cli("status").stdout  # nothing was recorded either


def test_an_external_target_that_is_down_stops_the_run(run_cli: CliRunner, tmp_path: Path) -> None:
    port = _closed_port()
    repo = _repo(tmp_path, f'[target]\nhttp_url = "http://127.0.0.1:{port}"\n')
    marker = tmp_path / "ran"
    proc = run_cli("run", "--repo", str(repo), "--focus", "marker", env={"RAN_MARKER": str(marker)})
    assert proc.returncode == ERROR, proc.stdout + proc.stderr
    line = _one_error_line(proc.stderr)
    assert f"target: http://127.0.0.1:{port}/health does not answer" in line, line
    assert not marker.exists()


def test_checks_run_together_and_report_every_failure_in_order() -> None:
    release = threading.Event()

    def hangs() -> None:
        release.wait(30)

    def fails() -> None:
        raise ValueError("refused")

    try:
        problems = run_checks(
            [Check("first", lambda: None), Check("slow", hangs), Check("broken", fails)], deadline=0.5
        )
    finally:
        release.set()
    assert problems == ["slow: no answer within 0.5 s", "broken: ValueError: refused"]


def test_a_code_host_that_is_down_is_named_with_the_systems_reason(tmp_path: Path) -> None:
    """The real PyGithub client against a port nobody listens on: one short reason, not urllib3's paragraph."""
    port = _closed_port()
    client = Github(base_url=f"http://127.0.0.1:{port}", auth=Auth.Token("t"), retry=None)
    host = GitHubCodeHost(tmp_path, "owner/name", client)
    (problem,) = run_checks([codehost_check(host, f"http://127.0.0.1:{port} (owner/name)")])
    assert problem == f"code host: http://127.0.0.1:{port} (owner/name) does not answer: [Errno 111] Connection refused"
