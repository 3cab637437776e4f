"""Deploy with a configured command (an argv list, never a shell string), then wait for the health
endpoint to report the new revision. ``{revision}`` in an argument is replaced by the commit sha;
the command also gets ``FIXLOOP_REVISION`` in its environment."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from fixloop.errors import ConfigError
from fixloop.integrations.deploy.health import wait_healthy
from fixloop.records import DeployRecord, utc_now

OUTPUT_LIMIT = 20_000  # characters of command output kept in the record


class CommandDeployer:
    name = "command"

    def __init__(
        self,
        argv: list[str],
        *,
        health_url: str,
        cwd: Path,
        health_timeout: float = 60.0,
        poll_interval: float = 0.5,
        command_timeout: float = 900.0,
    ) -> None:
        if not argv or not all(isinstance(a, str) and a for a in argv):
            raise ConfigError("deploy.command must be a non-empty argv list", hint='e.g. ["gcloud", "run", "deploy"]')
        self.argv = list(argv)
        self.health_url = health_url
        self.cwd = cwd
        self.health_timeout = health_timeout
        self.poll_interval = poll_interval
        self.command_timeout = command_timeout

    def deploy(self, revision: str) -> DeployRecord:
        """Run the command for ``revision``; on success wait until healthy at it (or record why not)."""
        started = utc_now()
        argv = [arg.replace("{revision}", revision) for arg in self.argv]
        env = {**os.environ, "FIXLOOP_REVISION": revision}
        try:
            proc = subprocess.run(
                argv,
                cwd=self.cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=self.command_timeout,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            output = _text(exc.stdout) + _text(exc.stderr)
            return DeployRecord(
                revision=revision,
                started=started,
                outcome="failed",
                output=_clip(f"$ {' '.join(argv)}\n{output}\ncommand timed out after {self.command_timeout:g} s"),
            )
        except OSError as exc:
            return DeployRecord(
                revision=revision,
                started=started,
                outcome="failed",
                output=f"$ {' '.join(argv)}\ncannot run {argv[0]!r}: {exc}",
            )
        transcript = f"$ {' '.join(argv)}\n{proc.stdout}{proc.stderr}".rstrip()
        if proc.returncode != 0:
            return DeployRecord(
                revision=revision,
                started=started,
                outcome="failed",
                output=_clip(f"{transcript}\ncommand exited with code {proc.returncode}"),
            )
        wait = wait_healthy(self.health_url, revision, timeout=self.health_timeout, poll_interval=self.poll_interval)
        if wait.healthy_at is None:
            return DeployRecord(
                revision=revision,
                started=started,
                outcome="unhealthy",
                output=_clip(
                    f"{transcript}\nnot healthy after {self.health_timeout:g} s ({wait.polls} polls): {wait.last}"
                ),
            )
        return DeployRecord(
            revision=revision,
            started=started,
            healthy_at=wait.healthy_at,
            outcome="healthy",
            output=_clip(f"{transcript}\n{wait.last}"),
        )


def _text(value: str | bytes | None) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value or ""


def _clip(text: str) -> str:
    return text if len(text) <= OUTPUT_LIMIT else "...\n" + text[-OUTPUT_LIMIT:]
