"""Start, stop and inspect a target system as a real process (the example chat backend).

State lives in ``<repo>/.fixloop/target.json`` (pid, port, urls, log file, revision, and the
per-start JWT secret — the file is written 0600 and the secret is never printed).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fixloop.cleanup import forget_target, track_target
from fixloop.config import TargetSettings, load_settings
from fixloop.errors import FixloopError, TargetError
from fixloop.target_test_env import configured_test_env, render_test_env

STATE_DIR = ".fixloop"
STATE_FILE = "target.json"
LOG_FILE = "target.log"
CONSOLE_FILE = "target.console.log"
DEFAULT_COMMAND = ("-m", "chatbackend")
HOST = "127.0.0.1"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0

# The env var names the example target reads and its e2e suite expects.
TARGET_ENV_PREFIX = "CHAT_"
PORT_ENV = "CHAT_PORT"
HOST_ENV = "CHAT_HOST"
REVISION_ENV = "CHAT_REVISION"
LOG_FILE_ENV = "CHAT_LOG_FILE"
SERVICE_NAME_ENV = "CHAT_SERVICE_NAME"

_children: dict[int, subprocess.Popen[bytes]] = {}  # targets started by this process (to reap them)


@dataclass
class TargetInfo:
    pid: int
    port: int
    http_url: str
    ws_url: str
    log_file: str
    revision: str
    started_at: str
    running: bool = True
    console_file: str = ""  # the target's stdout + stderr
    error: str = ""  # why the last start failed (then ``running`` is False)

    def public(self) -> dict[str, Any]:
        """What may be shown to a user (no secret in here)."""
        return asdict(self)


def state_dir(repo: Path) -> Path:
    return repo.resolve() / STATE_DIR


def start_target(repo: Path, *, port: int | None = None, env: dict[str, str] | None = None) -> TargetInfo:
    """Start the target from ``repo``'s checked-out commit, wait until /health answers, return its info.

    ``env`` overrides the target's environment; when it holds the secret env var, that secret is used
    (a restart keeps the tests' tokens valid), otherwise a random one is made for this start.
    """
    repo = _existing(repo)
    current = target_status(repo)
    if current is not None and current.running:
        raise TargetError(
            f"a target is already running for {repo} (pid {current.pid}, {current.http_url})",
            hint=f"stop it first: fixloop target down --repo {repo}",
        )
    settings = load_settings(repo)
    port = port or free_port()
    secret_env = settings.target.token_secret_env
    folder = state_dir(repo)
    folder.mkdir(parents=True, exist_ok=True)
    log_file, console_file = folder / LOG_FILE, folder / CONSOLE_FILE
    revision = git_revision(repo)

    # The target's configuration comes from here, the settings and ``env``, never from a stray shell variable.
    child_env = {key: value for key, value in os.environ.items() if not key.startswith(TARGET_ENV_PREFIX)}
    child_env.update(
        {
            HOST_ENV: HOST,
            PORT_ENV: str(port),
            REVISION_ENV: revision,
            LOG_FILE_ENV: str(log_file),
            SERVICE_NAME_ENV: settings.target.service_name,
            secret_env: secrets.token_urlsafe(32),
            "PYTHONUNBUFFERED": "1",
        }
    )
    child_env.update(settings.target.env)
    child_env.update(env or {})
    command = list(settings.target.start_command) or [sys.executable, *DEFAULT_COMMAND]
    with console_file.open("ab") as console:
        try:
            process = subprocess.Popen(
                command,
                cwd=repo,
                env=child_env,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise TargetError(f"cannot start the target with {command[0]!r}: {exc}") from None
    _children[process.pid] = process
    track_target(repo)  # an interrupted fixloop stops it (``cleanup.stop_everything``)
    info = TargetInfo(
        pid=process.pid,
        port=port,
        http_url=f"http://{HOST}:{port}",
        ws_url=f"ws://{HOST}:{port}/ws",
        log_file=str(log_file),
        revision=revision,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        console_file=str(console_file),
    )
    try:
        _wait_healthy(process, info.http_url + settings.target.health_path, console_file)
    except TargetError as exc:
        _kill_group(process.pid)
        info.running, info.error = False, exc.message
        _write_state(folder / STATE_FILE, {**info.public(), "secret_env": secret_env})
        raise
    except BaseException:  # interrupted while it starts: no state is written yet, so stop it here
        _kill_group(process.pid)
        raise
    _write_state(folder / STATE_FILE, {**info.public(), "secret_env": secret_env, "secret": child_env[secret_env]})
    return info


def restart_target(repo: Path, *, env: dict[str, str] | None = None) -> TargetInfo:
    """Stop the running target and start it again on the same port with the same secret."""
    state = _read_state(repo)
    stop_target(repo)
    keep: dict[str, str] = {}
    port = None
    if state is not None:
        keep[str(state["secret_env"])] = str(state["secret"])
        port = int(state["port"])
    return start_target(repo, port=port, env={**keep, **(env or {})})


@contextlib.contextmanager
def worktree_target(worktree: Path, target: TargetSettings) -> Iterator[dict[str, str]]:
    """A target started from ``worktree`` for the block (stopped after it); yields its tests' env.

    With ``target.server = false`` (a library: its tests need no running service) it starts nothing and
    yields {} (``target.env`` reaches every pytest run anyway).
    """
    if not target.server:
        yield {}
        return
    start_target(worktree)
    try:
        yield test_env(worktree)
    finally:
        stop_target(worktree)


def stop_target(repo: Path) -> bool:
    """Stop the target started from ``repo``; False when none was running."""
    repo = _existing(repo)
    state = _read_state(repo)
    if state is None:
        return False
    forget_target(repo)
    pid = int(state["pid"])
    was_running = _alive(pid) and _runs_in(pid, repo)
    if was_running:
        _kill_group(pid)
    (state_dir(repo) / STATE_FILE).unlink(missing_ok=True)
    return was_running


def target_status(repo: Path) -> TargetInfo | None:
    """The recorded target of ``repo`` (``running`` says whether its process is alive), or None."""
    state = _read_state(_existing(repo))
    if state is None:
        return None
    fields = {name: state[name] for name in TargetInfo.__dataclass_fields__ if name in state}
    info = TargetInfo(**fields)
    info.running = not info.error and _alive(info.pid) and _runs_in(info.pid, repo)
    return info


def test_env(repo: Path, target: TargetSettings | None = None) -> dict[str, str]:
    """Env vars the target's own tests need (``[target.test_env]`` over its URLs, the token secret) for the
    running target; {} if none. ``target``: the run's settings (else the repo's)."""
    repo = _existing(repo)
    info = target_status(repo)
    state = _read_state(repo)
    if info is None or state is None or not info.running or "secret" not in state:
        return {}
    settings = (target or load_settings(repo).target).model_copy(update={"token_secret_env": str(state["secret_env"])})
    return render_test_env(settings, http_url=info.http_url, ws_url=info.ws_url, secret=str(state["secret"]))


test_env.__test__ = False  # type: ignore[attr-defined]


def available_test_env(repo: Path, target: TargetSettings | None = None) -> dict[str, str]:
    """Env for the target's tests: ``test_env`` while the target runs; the URLs of a recorded target that is
    down (its start failed, or it died) so that its tests fail the way they would against a staging service
    that is down — connection refused — not with a missing setting; with no recorded target, ``[target]``'s
    own URLs and secrets (an external service, ``target``: the run's settings, else the repo's).

    A down target's token secret is a throwaway (a failed start records none): nothing can check it.
    """
    try:
        running = test_env(repo, target)
        if running:
            return running
        info = target_status(repo)
        settings = target or load_settings(repo).target
    except (FixloopError, OSError):
        return {}
    if info is None:
        return configured_test_env(settings)
    throwaway = secrets.token_urlsafe(32)
    return render_test_env(settings, http_url=info.http_url, ws_url=info.ws_url, secret=throwaway)


# ---------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def git_revision(repo: Path) -> str:
    """``git rev-parse HEAD`` of ``repo``, or "unknown" outside a git repository."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "unknown"


def _existing(repo: Path) -> Path:
    resolved = repo.expanduser().resolve()
    if not resolved.is_dir():
        raise TargetError(f"target repo {repo} is not an existing folder", hint="pass --repo PATH of the target")
    return resolved


def _wait_healthy(process: subprocess.Popen[bytes], health_url: str, console_file: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            raise TargetError(f"the target exited with code {code} on start: {_tail(console_file)}")
        try:
            with urllib.request.urlopen(health_url, timeout=1.0) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise TargetError(
        f"the target did not answer {health_url} within {START_TIMEOUT:.0f} s: {_tail(console_file)}",
        hint=f"see {console_file}",
    )


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no output)"
    last = [line for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(last) or "(no output)"


def _alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _runs_in(pid: int, repo: Path) -> bool:
    """False when ``pid`` now belongs to another program (a reused pid), as far as /proc can tell."""
    try:
        return Path(f"/proc/{pid}/cwd").resolve() == repo.resolve()
    except OSError:
        return True  # no /proc (or no permission): trust the pid


def _kill_group(pid: int) -> None:
    """TERM the target's process group, then KILL it if it has not gone within STOP_TIMEOUT."""
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 2.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _alive(pid):
                _children.pop(pid, None)
                return
            time.sleep(0.05)
    _children.pop(pid, None)


def _write_state(path: Path, state: dict[str, Any]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=2)
    path.chmod(0o600)


def _read_state(repo: Path) -> dict[str, Any] | None:
    path = state_dir(repo) / STATE_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TargetError(f"{path} is unreadable: {exc}", hint="delete it and start the target again") from None
    if not isinstance(data, dict) or "pid" not in data:
        raise TargetError(f"{path} is not a target record", hint="delete it and start the target again")
    return data
