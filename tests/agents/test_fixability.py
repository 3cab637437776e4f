"""Fixability: a score from checkable parts; the gates map it to the level a category may reach alone."""

from __future__ import annotations

from fixloop.agents.fixability import allowed_level, fixability, fixability_markdown, may_reach
from fixloop.config import AutonomySettings
from fixloop.records import (
    AuditResult,
    Category,
    EvidenceBundle,
    EvidenceItem,
    FiveWhys,
    FixProposal,
    Frame,
    Location,
    PullRequestRecord,
    Signature,
    StressResult,
    StressRun,
    WhyStep,
)
from fixloop.state import FixAttempt, Investigation

GATES = AutonomySettings().gates
TEST = "tests/test_ws.py::test_connect"
PATCH = "--- a/app/server.py\n+++ b/app/server.py\n@@ -1 +1 @@\n-user = claims['user_id']\n+user = claims['sub']\n"


def _evidence() -> EvidenceBundle:
    return EvidenceBundle(
        category_id="server-error-1",
        items=[
            EvidenceItem(id="E1", kind="test-output", title="t", text="HTTP 500"),
            EvidenceItem(id="E2", kind="log-line", title="l", text="KeyError: 'user_id'"),
            EvidenceItem(id="E3", kind="code", title="c", text="claims['user_id']", source="app/server.py:54"),
        ],
        locations=[Location(file="app/server.py", function="open_session", score=3.0)],
    )


def _whys(cited: str = "E3") -> FiveWhys:
    steps = [WhyStep(question=f"why {n}?", answer="because", evidence=["E1", "E2"]) for n in range(4)]
    steps.append(WhyStep(question="why 5?", answer="the key is wrong", evidence=[cited]))
    return FiveWhys(steps=steps, root_cause="wrong claim key", fix_location="app/server.py:open_session")


def _stress(failing_runs: int, runs: int = 5) -> StressResult:
    results = [StressRun(run=n, failing=[TEST] if n <= failing_runs else []) for n in range(1, runs + 1)]
    return StressResult(runs=runs, tests=[TEST], results=results)


def _investigation(*, stress: StressResult | None, audit_passed: bool = True, cited: str = "E3") -> Investigation:
    fix = FixProposal(summary="use sub", patch=PATCH, files=["app/server.py"], validated=True)
    audit = AuditResult(passed=audit_passed)
    attempt = FixAttempt(attempt=1, fix=fix, audit=audit, validated=stress is None or not stress.failures)
    attempt.stress = stress
    category = Category(
        id="server-error-1",
        kind="server-error",
        title="500",
        tests=[TEST],
        signature=Signature(frames=[Frame(file="app/server.py", line=54, function="open_session")]),
    )
    accepted = attempt.validated and audit_passed
    return Investigation(
        iteration=1,
        category=category,
        evidence=_evidence(),
        five_whys=_whys(cited),
        attempts=[attempt],
        fix=fix if accepted else None,
        audit=audit,
        outcome="fixed" if accepted else "unfixed",
    )


def test_a_well_proven_small_fix_may_reach_a_pr() -> None:
    fx = fixability(_investigation(stress=_stress(0)), GATES)
    assert fx.parts == {
        "frames": 1.0,
        "logs": 1.0,
        "localization": 1.0,
        "citations": 1.0,
        "validation": 1.0,
        "audit": 1.0,
        "stress": 1.0,
        "size": 1.0,
    }
    assert fx.score == 1.0 and fx.allowed == "merge" and fx.reached == "patch"
    assert may_reach(_investigation(stress=_stress(0)), GATES, "pr")


def test_one_failing_stress_run_keeps_the_category_at_diagnose() -> None:
    inv = _investigation(stress=_stress(1))
    fx = fixability(inv, GATES)
    assert fx.parts["stress"] == 0.0 and fx.score <= 0.39
    assert fx.allowed == "diagnose" and not may_reach(inv, GATES, "pr")
    assert any("4/5 re-runs green" in reason for reason in fx.reasons)


def test_a_failed_audit_is_disqualifying() -> None:
    fx = fixability(_investigation(stress=_stress(0), audit_passed=False), GATES)
    assert fx.score <= 0.39 and fx.allowed == "diagnose"


def test_a_citation_to_missing_evidence_lowers_the_score() -> None:
    good = fixability(_investigation(stress=_stress(0)), GATES)
    bad = fixability(_investigation(stress=_stress(0), cited="E42"), GATES)
    assert bad.parts["citations"] == 0.8 and bad.score < good.score


def test_the_gates_from_settings_map_scores_to_levels() -> None:
    assert allowed_level(0.2, GATES) == "diagnose"
    assert allowed_level(0.5, GATES) == "patch"
    assert allowed_level(0.7, GATES) == "merge"
    strict = {"patch": 0.5, "pr": 0.8, "merge": 0.95}
    assert allowed_level(0.85, strict) == "pr" and allowed_level(0.49, strict) == "diagnose"


def test_the_level_reached_follows_the_pr() -> None:
    inv = _investigation(stress=_stress(0))
    pr = PullRequestRecord(number=1, url="u", branch="b", base="main", title="t")
    assert fixability(inv.model_copy(update={"pr": pr}), GATES).reached == "pr"
    merged = pr.model_copy(update={"state": "merged"})
    assert fixability(inv.model_copy(update={"pr": merged}), GATES).reached == "merge"


def test_the_markdown_shows_score_parts_and_levels() -> None:
    text = "\n".join(fixability_markdown(_investigation(stress=_stress(2)), GATES))
    assert "**Fixability** 0.39" in text and "may reach **diagnose**" in text
    assert "stress 0.00" in text and "3/5 re-runs green" in text
