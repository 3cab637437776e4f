"""Check that a five-whys chain is complete and every step cites evidence that exists and shows its claims."""

from __future__ import annotations

from fixloop.agents.claims import claim_problems
from fixloop.records import EvidenceBundle, FiveWhys

MIN_STEPS = 5


def citation_problems(chain: FiveWhys, bundle: EvidenceBundle) -> list[str]:
    """Empty when valid: >= 5 steps, each citing >= 1 id, every id in the bundle and showing the step's key
    facts (``claims.py``), a root cause."""
    problems: list[str] = []
    if len(chain.steps) < MIN_STEPS:
        problems.append(f"chain has {len(chain.steps)} steps, needs at least {MIN_STEPS}")
    known = bundle.ids()
    for number, step in enumerate(chain.steps, start=1):
        if not step.question.strip() or not step.answer.strip():
            problems.append(f"step {number} has an empty question or answer")
        if not step.evidence:
            problems.append(f"step {number} cites no evidence")
        unknown = [e for e in step.evidence if e not in known]
        if unknown:
            problems.append(f"step {number} cites {', '.join(unknown)}, not in bundle {bundle.category_id}")
    problems += claim_problems(chain, bundle.items)
    if not chain.root_cause.strip():
        problems.append("no root cause")
    if not chain.fix_location.strip():
        problems.append("no fix location")
    elif not _grounded(chain.fix_location.split(":", 1)[0], bundle):
        problems.append(f"fix location {chain.fix_location} appears in no ranked location or evidence item")
    if not 0.0 <= chain.confidence <= 1.0:
        problems.append(f"confidence {chain.confidence} is outside [0, 1]")
    return problems


def _grounded(path: str, bundle: EvidenceBundle) -> bool:
    """True when ``path`` is a ranked location or is named by some evidence item."""
    if any(loc.file == path for loc in bundle.locations):
        return True
    return any(path in item.source or path in item.text for item in bundle.items)
