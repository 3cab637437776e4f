"""Fixability: a score in [0, 1] per category from parts anyone can check, and the level it allows.

Parts (each in [0, 1], or absent when the run never got there):
- ``frames``: the failure's stack has frames in the target's own code;
- ``logs``: the evidence holds error logs of the time window;
- ``localization``: the five whys' fix location is where localization ranked code first;
- ``citations``: share of why-steps whose citations all resolve to evidence (and at least five steps);
- ``validation``: the patch made the failing tests pass in an isolated worktree;
- ``audit``: the SSOT audit passed;
- ``stress``: the formerly failing tests passed every stress re-run;
- ``size``: the patch is small.
The score is the weighted mean of the parts present; ``[autonomy] gates`` maps it
to the highest level the category may reach on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from fixloop.autonomy import LEVELS, lowest, rank
from fixloop.config import AutonomyLevel
from fixloop.records import Record

WEIGHTS: dict[str, float] = {
    "frames": 0.10,
    "logs": 0.10,
    "localization": 0.15,
    "citations": 0.15,
    "validation": 0.20,
    "audit": 0.10,
    "stress": 0.15,
    "size": 0.05,
}
SMALL_PATCH_LINES = 20
LARGE_PATCH_LINES = 120


class Fixability(Record):
    score: float
    parts: dict[str, float] = Field(default_factory=dict)
    allowed: AutonomyLevel = "diagnose"  # the highest level the score allows on its own
    reached: AutonomyLevel = "diagnose"  # how far the category actually got
    reasons: list[str] = Field(default_factory=list)


def _file(location: str) -> str:
    return location.split(":", 1)[0].strip()


def _changed_lines(patch: str) -> int:
    return sum(
        1
        for line in patch.splitlines()
        if line[:1] in "+-" and not line.startswith("+++") and not line.startswith("---")
    )


def score_parts(inv: Any) -> tuple[dict[str, float], list[str]]:
    """The checkable parts of an investigation (state.Investigation) and why each got its value."""
    parts: dict[str, float] = {}
    reasons: list[str] = []
    frames = inv.category.signature.frames
    parts["frames"] = 1.0 if frames else 0.0
    reasons.append(f"frames: {len(frames)} in the target's code")
    evidence = inv.evidence
    items = evidence.items if evidence is not None else []
    logs = [i for i in items if i.kind in ("log-line", "log-template")]
    parts["logs"] = 1.0 if logs else 0.0
    reasons.append(f"logs: {len(logs)} log items in the window")
    whys = inv.five_whys
    if whys is not None:
        target = _file(whys.fix_location)
        ranked = [loc.file for loc in (evidence.locations if evidence is not None else [])]
        if target and ranked[:1] == [target]:
            parts["localization"] = 1.0
        elif target and target in ranked[:3]:
            parts["localization"] = 0.5
        else:
            parts["localization"] = 0.0
        reasons.append(f"localization: fix location {target or '(none)'} vs ranked {ranked[:3]}")
        ids = evidence.ids() if evidence is not None else set()
        good = sum(1 for step in whys.steps if step.evidence and set(step.evidence) <= ids)
        share = good / len(whys.steps) if whys.steps else 0.0
        parts["citations"] = share if len(whys.steps) >= 5 else share * 0.5
        reasons.append(f"citations: {good}/{len(whys.steps)} steps resolve")
    if inv.attempts:
        parts["validation"] = 1.0 if any(a.validated for a in inv.attempts) else 0.0
        reasons.append(f"validation: {sum(a.validated for a in inv.attempts)}/{len(inv.attempts)} attempts validated")
        audits = [a.audit for a in inv.attempts if a.audit is not None]
        if audits:
            parts["audit"] = 1.0 if any(a.passed for a in audits) else 0.0
            reasons.append(f"audit: {'passed' if parts['audit'] else 'failed'}")
        stresses = [s for s in (getattr(a, "stress", None) for a in inv.attempts) if s is not None]
        if stresses:
            last = stresses[-1]
            parts["stress"] = 1.0 if last.failures == 0 else 0.0
            reasons.append(f"stress: {last.runs - last.failures}/{last.runs} re-runs green")
    if inv.fix is not None:
        changed = _changed_lines(inv.fix.patch)
        if changed <= SMALL_PATCH_LINES:
            parts["size"] = 1.0
        elif changed <= LARGE_PATCH_LINES:
            parts["size"] = 0.5
        else:
            parts["size"] = 0.0
        reasons.append(f"size: {changed} changed lines")
    return parts, reasons


def allowed_level(score: float, gates: Mapping[str, float]) -> AutonomyLevel:
    """The highest level whose gate ``score`` meets (diagnose needs none; a level without a gate is open)."""
    allowed: AutonomyLevel = "diagnose"
    for level in LEVELS[1:]:
        if score >= gates.get(level, 0.0):
            allowed = level
        else:
            break
    return allowed


def reached_level(inv: Any) -> AutonomyLevel:
    if inv.pr is not None:
        return "merge" if inv.pr.state == "merged" else "pr"
    if inv.fix is not None and inv.fix.validated:
        return "patch"
    return "diagnose"


def fixability(inv: Any, gates: Mapping[str, float]) -> Fixability:
    parts, reasons = score_parts(inv)
    weight = sum(WEIGHTS[name] for name in parts)
    score = round(sum(WEIGHTS[name] * value for name, value in parts.items()) / weight, 3) if weight else 0.0
    # a failed validation, audit or stress run is disqualifying, whatever the rest says
    if any(parts.get(name) == 0.0 for name in ("validation", "audit", "stress")):
        score = min(score, 0.39)
    allowed = allowed_level(score, gates)
    return Fixability(
        score=score, parts=parts, allowed=allowed, reached=lowest(reached_level(inv), "merge"), reasons=reasons
    )


def may_reach(inv: Any, gates: Mapping[str, float], level: str) -> bool:
    """Whether the category's score lets it reach ``level`` on its own."""
    return rank(fixability(inv, gates).allowed) >= rank(level)


def fixability_markdown(inv: Any, gates: Mapping[str, float]) -> list[str]:
    """The score, its parts and the levels, as Markdown lines (worklog and PR body)."""
    fx = fixability(inv, gates)
    parts = ", ".join(f"{name} {value:.2f}" for name, value in fx.parts.items())
    gate_text = ", ".join(f"{level} >= {value:.2f}" for level, value in gates.items())
    return [
        f"**Fixability** {fx.score:.2f} (gates: {gate_text}): may reach **{fx.allowed}** on its own; "
        f"reached **{fx.reached}**",
        f"- parts: {parts}",
        *(f"- {reason}" for reason in fx.reasons),
    ]
