"""The after-collect policy: each row of the table, and the order of precedence between rows."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fixloop.graphs.collect_policy import CASES, Collected, Next, decide

# a run with a model, stop-at merge, one category fixed and past the PR gate: on to open PRs
BASE = Collected(
    has_model=True,
    level="merge",
    investigations=1,
    fixed=1,
    all_report_only=False,
    quarantine_plans=0,
    past_pr_gate=1,
    scores="c1 0.80",
)
NOTHING_FIXED = replace(BASE, fixed=0, past_pr_gate=0, scores="")
REPORT_ONLY = replace(NOTHING_FIXED, all_report_only=True, reports="c1: flaky (2 of 3 re-runs passed)")


@pytest.mark.parametrize(
    ("case", "facts", "next_", "status", "outcome"),
    [
        ("no model", replace(BASE, has_model=False), Next.DIAGNOSED, "diagnosed", "without a model"),
        ("stop at diagnose", replace(BASE, level="diagnose"), Next.DIAGNOSED, "diagnosed", "--stop-at diagnose"),
        ("report only, quarantine PR", replace(REPORT_ONLY, quarantine_plans=1), Next.OPEN_PRS, None, ""),
        (
            "report only",
            replace(REPORT_ONLY, quarantine_notes=("c2: no test to mark",)),
            Next.DIAGNOSED,
            "diagnosed",
            "reported, no code fix: c1: flaky (2 of 3 re-runs passed); c2: no test to mark",
        ),
        ("model outage", replace(NOTHING_FIXED, outage="connect refused"), Next.GAVE_UP, "gave_up", "connect refused"),
        ("cost cap", replace(NOTHING_FIXED, budget="max_cost 0.50 USD"), Next.GAVE_UP, "gave_up", "max_cost 0.50"),
        ("no accepted fix", NOTHING_FIXED, Next.GAVE_UP, "gave_up", "no fix passed validation"),
        ("stop at patch", replace(BASE, level="patch"), Next.DIAGNOSED, "diagnosed", "--stop-at patch"),
        ("below the PR gate", replace(BASE, past_pr_gate=0), Next.DIAGNOSED, "diagnosed", "(c1 0.80)"),
        ("open PRs", BASE, Next.OPEN_PRS, None, ""),
        ("open PRs", replace(BASE, level="pr"), Next.OPEN_PRS, None, ""),
    ],
)
def test_each_case(case: str, facts: Collected, next_: Next, status: str | None, outcome: str) -> None:
    decision = decide(facts)
    assert (decision.case, decision.next, decision.status) == (case, next_, status)
    assert outcome in decision.outcome and (outcome or decision.outcome == "")


def test_every_row_of_the_table_is_reachable() -> None:
    assert [c.name for c in CASES] == [
        "no model", "stop at diagnose", "report only, quarantine PR", "report only", "model outage",
        "cost cap", "no accepted fix", "stop at patch", "below the PR gate", "open PRs",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("facts", "case"),
    [
        # no model wins over everything, even a stop-at level
        (replace(NOTHING_FIXED, has_model=False, level="diagnose", outage="down"), "no model"),
        # a report-only iteration is reported even when the model was down meanwhile
        (replace(REPORT_ONLY, outage="down"), "report only"),
        # an outage is named before a cost cap, and both only when nothing was fixed
        (replace(NOTHING_FIXED, outage="down", budget="cap"), "model outage"),
        (replace(BASE, outage="down", budget="cap"), "open PRs"),
        # a fix that came in despite a report-only neighbour is not report-only
        (replace(BASE, all_report_only=True), "open PRs"),
        # stop at patch is checked before the PR gate
        (replace(BASE, level="patch", past_pr_gate=0), "stop at patch"),
        # no investigations at all (nothing failed this iteration) and nothing fixed: gave up, not report-only
        (replace(NOTHING_FIXED, investigations=0, all_report_only=False), "no accepted fix"),
    ],
)
def test_precedence(facts: Collected, case: str) -> None:
    assert decide(facts).case == case
