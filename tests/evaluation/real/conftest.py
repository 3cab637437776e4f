"""The one small real case (hyperframe from PyPI) the real-suite tests run, and the CLI call that runs it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliRunner

CASE = "hyperframe-settings-error-swallowed"
RealEvalCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def real_eval_cli(run_cli: CliRunner, tmp_path: Path) -> RealEvalCli:
    """``fixloop eval --suite real --case CASE --workers 1 --json`` plus ``args``, with ``tmp_path/home`` as home."""

    def _run(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(
            "eval", "--suite", "real", *args, "--case", CASE, "--workers", "1", "--json",
            "--work-dir", str(tmp_path / "work"), env={"FIXLOOP_HOME": str(tmp_path / "home")}, timeout=900,
        )  # fmt: skip

    return _run
