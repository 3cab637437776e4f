"""Decide whether each priority tier holds, by its failure tolerance."""

from __future__ import annotations

from fixloop.errors import NotReadyError
from fixloop.records import Selection, TestRun, TierVerdict


def evaluate_tiers(selection: Selection, run: TestRun) -> list[TierVerdict]:
    """One verdict per tier; skipped tests never count as passed, P1 tolerates no failure."""
    raise NotReadyError("tier verdicts land with issue #3")
