"""Shared helpers of the reliability suite: the full-sweep switch and a tally printed with each test."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator

import pytest

FULL_ENV = "FIXLOOP_RELIABILITY_FULL"


def full_sweep() -> bool:
    """True when the larger sweep is asked for (``FIXLOOP_RELIABILITY_FULL=1``)."""
    return os.environ.get(FULL_ENV, "").strip() not in ("", "0", "false", "no")


class Tally(Counter[str]):
    """Counts of what a reliability test tried; printed as one summary line (``pytest -s`` shows it)."""

    def line(self, name: str) -> str:
        return f"[reliability] {name}: " + ", ".join(f"{k}={v}" for k, v in sorted(self.items()))


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    counts = Tally()
    yield counts
    print("\n" + counts.line(request.node.name))
