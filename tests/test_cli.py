"""The CLI contract: every command listed, bad input gives one line and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = [
    "run",
    "demo",
    "select",
    "test",
    "triage",
    "probe",
    "approve",
    "reject",
    "resume",
    "status",
    "serve",
    "eval",
    "target",
    "verify",
    "stop-at",
]


def fixloop(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fixloop", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def test_help_lists_every_command() -> None:
    proc = fixloop("--help")
    assert proc.returncode == 0
    for command in COMMANDS:
        assert f" {command} " in proc.stdout, command


def test_missing_repo_is_one_clear_line(tmp_path: Path) -> None:
    proc = fixloop("run", "--repo", str(tmp_path / "no" / "such"), "--focus", "x")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "does not exist" in lines[0]


@pytest.mark.parametrize("argv", [["run", "--bogus"], ["probe"], ["approve"]])
def test_bad_flags_never_traceback(argv: list[str]) -> None:
    proc = fixloop(*argv)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
