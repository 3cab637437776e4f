"""What happens after the investigations of an iteration are collected: one policy, one table of cases.

``collect_node`` gathers the facts (``Collected``); ``decide`` walks ``CASES`` in order and the first
case that applies says whether the run goes on to open PRs or ends (``diagnosed`` / ``gave_up``), and
why, in one line for run.json. The table is the whole policy: each row is unit-tested on its own
(``tests/graphs/test_collect_policy.py``), and the order of the rows is the order of precedence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from fixloop.vocabulary import AutonomyLevel, RunStatus


@dataclass(frozen=True)
class Collected:
    """The facts the decision reads, about the current iteration's investigations."""

    has_model: bool  # a model was configured (not --llm none)
    level: AutonomyLevel  # how far the run may go now (its stop-at, or lower)
    investigations: int
    fixed: int  # investigations with an accepted (validated and audited) fix
    all_report_only: bool  # every investigation is a report (flaky, infrastructure) and none tried a fix
    quarantine_plans: int  # reported flaky categories a quarantine PR can mark
    quarantine_notes: tuple[str, ...] = ()  # why the other flaky categories cannot be quarantined
    reports: str = ""  # "category: why it is only reported; ..."
    outage: str = ""  # the model endpoint is unreachable (a finding said so), else ""
    budget: str = ""  # a cost cap was reached (a finding said so), else ""
    past_pr_gate: int = 0  # fixed investigations whose fixability score reaches the PR gate
    scores: str = ""  # "category score, ..." of the fixed investigations


class Next(Enum):
    OPEN_PRS = "open_prs"
    DIAGNOSED = "diagnosed"
    GAVE_UP = "gave_up"


_ENDS_AS: dict[Next, RunStatus] = {Next.DIAGNOSED: "diagnosed", Next.GAVE_UP: "gave_up"}


@dataclass(frozen=True)
class Case:
    name: str
    applies: Callable[[Collected], bool]
    next: Next
    outcome: Callable[[Collected], str] = lambda facts: ""


@dataclass(frozen=True)
class Decision:
    case: str
    next: Next
    outcome: str

    @property
    def status(self) -> RunStatus | None:
        """The run's status when it ends here; None when it goes on to open PRs."""
        return _ENDS_AS.get(self.next)


def _report_only(facts: Collected) -> bool:
    return facts.fixed == 0 and facts.investigations > 0 and facts.all_report_only


CASES: tuple[Case, ...] = (
    Case(
        "no model",
        lambda f: not f.has_model,
        Next.DIAGNOSED,
        lambda f: "diagnosed without a model (--llm none): no patch proposed",
    ),
    Case(
        "stop at diagnose",
        lambda f: f.level == "diagnose",
        Next.DIAGNOSED,
        lambda f: "stopped after diagnosis (--stop-at diagnose)",
    ),
    # report-only categories (flaky, infrastructure): a quarantine PR when one can be made, approved like any PR
    Case("report only, quarantine PR", lambda f: _report_only(f) and f.quarantine_plans > 0, Next.OPEN_PRS),
    Case(
        "report only",
        _report_only,
        Next.DIAGNOSED,
        lambda f: "; ".join([f"reported, no code fix: {f.reports}", *f.quarantine_notes]),
    ),
    Case(
        "model outage",
        lambda f: f.fixed == 0 and bool(f.outage),
        Next.GAVE_UP,
        lambda f: f"model endpoint unreachable: {f.outage}",
    ),
    Case(
        "cost cap",
        lambda f: f.fixed == 0 and bool(f.budget),
        Next.GAVE_UP,
        lambda f: f"a cost cap was reached: {f.budget}",
    ),
    Case(
        "no accepted fix",
        lambda f: f.fixed == 0,
        Next.GAVE_UP,
        lambda f: "no fix passed validation and the SSOT audit",
    ),
    Case(
        "stop at patch",
        lambda f: f.level == "patch",
        Next.DIAGNOSED,
        lambda f: "validated patches ready; stopped before PRs (--stop-at patch)",
    ),
    Case(
        "below the PR gate",
        lambda f: f.past_pr_gate == 0,
        Next.DIAGNOSED,
        lambda f: f"validated patches scored below the PR gate ({f.scores}): stopped before PRs",
    ),
    Case("open PRs", lambda f: True, Next.OPEN_PRS),
)


def decide(facts: Collected) -> Decision:
    """The first case of ``CASES`` that applies to ``facts``."""
    case = next(case for case in CASES if case.applies(facts))  # the last case always applies
    return Decision(case=case.name, next=case.next, outcome=case.outcome(facts))
