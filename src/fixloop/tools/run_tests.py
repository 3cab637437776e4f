"""Run pytest for real in a subprocess, in the target repo's own environment."""

from __future__ import annotations

from pathlib import Path

from fixloop.config import Settings
from fixloop.errors import NotReadyError
from fixloop.records import TestRun


def run_tests(
    repo: Path,
    targets: list[str],
    settings: Settings,
    *,
    env: dict[str, str] | None = None,
    out_dir: Path | None = None,
    timeout: float | None = None,
    workers: int = 0,
) -> TestRun:
    """Run ``targets`` (files or node ids) and return structured results (JUnit XML kept in out_dir)."""
    raise NotReadyError("test runs land with issue #3")


run_tests.__test__ = False  # type: ignore[attr-defined]
