"""Build the size-bounded, citable evidence bundle of a category."""

from __future__ import annotations

from pathlib import Path

from fixloop.config import Settings
from fixloop.errors import NotReadyError
from fixloop.interfaces import LogSource
from fixloop.records import Category, EvidenceBundle, TestRun


def gather_evidence(
    category: Category,
    run: TestRun,
    *,
    repo: Path,
    logs: LogSource | None,
    settings: Settings,
    budget_tokens: int = 4000,
) -> EvidenceBundle:
    """Failing output, mined log templates, ranked locations with snippets, recent commits: ids E1, E2, ..."""
    raise NotReadyError("evidence lands with issue #4")
