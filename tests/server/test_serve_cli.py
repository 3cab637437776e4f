"""``fixloop serve --port N`` as a real subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import SRC, CliRunner
from tests.server.helpers import BUTTON_KEY, SLACK_SECRET, SLACK_TOKEN, command_body, slack_headers, wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(port: int, env: dict[str, str], *args: str) -> Iterator[subprocess.Popen[str]]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "GITHUB_"))}
    full_env.pop("FIXLOOP_API_TOKEN", None)
    full_env.update(env)
    full_env["PYTHONPATH"] = str(SRC)
    proc = subprocess.Popen(
        [sys.executable, "-m", "fixloop", "serve", "--port", str(port), *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=full_env,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_serve_answers_healthz_and_says_which_routes_are_disabled(tmp_path: Path) -> None:
    port = free_port()
    with serve(
        port,
        {"SLACK_SIGNING_SECRET": SLACK_SECRET, "SLACK_BOT_TOKEN": SLACK_TOKEN, "FIXLOOP_BUTTON_KEY": BUTTON_KEY},
        "--allow-repo",
        f"chat={tmp_path}",
        "--slack-api-url",
        "http://127.0.0.1:9/api/",
    ) as proc:
        wait_until(lambda: healthy(port) or proc.poll() is not None, timeout=60, what="/healthz")
        assert proc.poll() is None
        health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
        assert health["ok"] is True and health["disabled_routes"] == 4
        body = command_body("websockets; ls")
        refused = httpx.post(
            f"http://127.0.0.1:{port}/slack/commands", content=body, headers=slack_headers(body, secret="wrong")
        )
        assert refused.status_code == 401
        hook = httpx.post(f"http://127.0.0.1:{port}/github/webhook", content=b"{}")
        assert hook.status_code == 403
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    lines = stderr.splitlines()
    disabled = [line for line in lines if "route " in line and "DISABLED" in line]
    assert len(disabled) == 4, stderr
    assert any("run pages DISABLED" in line for line in lines), stderr  # no API token, no page user
    assert any("/github/webhook DISABLED: GITHUB_WEBHOOK_SECRET, GITHUB_TOKEN not set" in d for d in disabled)
    assert not any("/slack/" in d for d in disabled)
    assert f"listening on http://127.0.0.1:{port}" in stderr
    assert SLACK_SECRET not in stderr and SLACK_TOKEN not in stderr and BUTTON_KEY not in stderr


def test_serve_refuses_a_bad_allowed_repo(run_cli: CliRunner, tmp_path: Path) -> None:
    done = run_cli("serve", "--port", "0", "--allow-repo", f"x={tmp_path / 'missing'}", timeout=60)
    assert done.returncode == 2
    assert "is not a folder" in done.stderr and "Traceback" not in done.stderr
