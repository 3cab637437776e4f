"""The CLI contract: every command listed, bad input gives one line and a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CliRunner

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


def test_help_lists_every_command(run_cli: CliRunner) -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    for command in COMMANDS:
        assert f" {command} " in proc.stdout, command


def test_missing_repo_is_one_clear_line(tmp_path: Path, run_cli: CliRunner) -> None:
    proc = run_cli("run", "--repo", str(tmp_path / "no" / "such"), "--focus", "x")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "does not exist" in lines[0]


@pytest.mark.parametrize("argv", [["run", "--bogus"], ["probe"], ["approve"]])
def test_bad_flags_never_traceback(argv: list[str], run_cli: CliRunner) -> None:
    proc = run_cli(*argv)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
