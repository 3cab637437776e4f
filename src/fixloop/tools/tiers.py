"""Decide whether each priority tier holds, by its failure tolerance."""

from __future__ import annotations

from fixloop.records import Selection, TestResult, TestRun, Tier, TierVerdict

EXECUTED = ("passed", "failed", "error", "xpassed", "xfailed")
FAILED = ("failed", "error")


def _belongs(result: TestResult, tier: Tier) -> bool:
    for f in tier.files:
        for target in f.tests or [f.path]:
            if (
                result.nodeid == target
                or result.nodeid.startswith(target + "::")
                or result.nodeid.startswith(target + "[")
            ):
                return True
            if target.endswith("/") and result.nodeid.startswith(target):
                return True
    return False


def evaluate_tiers(selection: Selection, run: TestRun) -> list[TierVerdict]:
    """One verdict per tier; skipped tests never count as passed, P1 tolerates no failure."""
    verdicts = []
    claimed: set[str] = set()
    for tier in sorted(selection.tiers, key=lambda t: t.priority):
        mine = [r for r in run.results if r.nodeid not in claimed and _belongs(r, tier)]
        claimed.update(r.nodeid for r in mine)
        executed = [r for r in mine if r.outcome in EXECUTED]
        failed = [r for r in executed if r.outcome in FAILED]
        skipped = [r for r in mine if r.outcome == "skipped"]
        tolerance = 0.0 if tier.priority == 1 else tier.tolerance
        errors = [e for e in run.collection_errors if any(e.startswith(f.path) for f in tier.files)]
        if errors:
            holds, reason = False, f"{len(errors)} files of this tier could not be collected"
        elif not executed:
            holds, reason = False, f"nothing executed ({len(skipped)} skipped)" if skipped else "nothing executed"
        elif tolerance == 0.0:
            holds = not failed
            reason = "no failure" if holds else f"{len(failed)} of {len(executed)} failed; tolerance is none"
        else:
            ratio = len(failed) / len(executed)
            holds = ratio <= tolerance
            reason = f"{len(failed)} of {len(executed)} failed ({ratio:.0%}); tolerance {tolerance:.0%}"
        if skipped and executed:
            reason += f"; {len(skipped)} skipped, not counted as passed"
        verdicts.append(
            TierVerdict(
                priority=tier.priority,
                name=tier.name,
                tolerance=tolerance,
                executed=len(executed),
                failed=len(failed),
                skipped=len(skipped),
                holds=holds,
                reason=reason,
            )
        )
    return verdicts


def phase_name(tiers: list[int]) -> str:
    """Which tiers a test run covered (its phase): "P1", "P1-P2"; "all tiers" when none is named."""
    if not tiers:
        return "all tiers"
    return f"P{tiers[0]}" if len(tiers) == 1 else f"P{tiers[0]}-P{tiers[-1]}"
