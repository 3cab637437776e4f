"""Five whys without a model: a chain built by rules from the evidence, each step citing it."""

from __future__ import annotations

from fixloop.errors import NotReadyError
from fixloop.records import Category, EvidenceBundle, FiveWhys


def rule_chain(category: Category, bundle: EvidenceBundle) -> FiveWhys:
    """test symptom -> server response -> log error -> code location -> recent change -> root cause."""
    raise NotReadyError("rule-based five whys land with issue #4")
