"""Group failures and realness findings into categories of a fixed taxonomy."""

from __future__ import annotations

from pathlib import Path

from fixloop.errors import NotReadyError
from fixloop.records import Category, Finding, TestRun


def categorize(run: TestRun, findings: list[Finding], *, repo: Path | None = None) -> list[Category]:
    """Categories (one per signature group), realness findings included as test-defect etc."""
    raise NotReadyError("triage lands with issue #4")
