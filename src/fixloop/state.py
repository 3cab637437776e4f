"""The state of the remediation graph and of the investigation subgraph.

Everything in the state is a pydantic record (``records.py`` plus the few run
records below) so that it checkpoints, resumes in another process and renders
into run.json unchanged. Lists written by parallel branches have reducers:
events append, investigations merge by ``(iteration, category id)``.
"""

from __future__ import annotations

import operator
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field
from typing_extensions import TypedDict

from fixloop.records import (
    ApprovalRecord,
    AuditResult,
    Category,
    DeployRecord,
    EvidenceBundle,
    Finding,
    FiveWhys,
    FixProposal,
    PhaseRecord,
    PullRequestRecord,
    Record,
    Selection,
    StressResult,
    TestRun,
    TierVerdict,
    UsageRecord,
    utc_now,
)
from fixloop.vocabulary import AutonomyLevel, LLMMode, RunStatus

RunStatusValue = RunStatus  # the names this module has always used, from fixloop.vocabulary
StopAt = AutonomyLevel
LLMModeValue = LLMMode


class RunInfo(Record):
    """What was asked (intake), fixed for the life of the run."""

    thread_id: str
    repo: str
    focus: str
    out_dir: str
    config_file: str = ""  # --config FILE, when the run's settings came from one (the reproduce command needs it)
    requested_by: str = "cli"
    source: str = "cli"
    llm_mode: LLMModeValue = "none"
    model_name: str = ""  # "" with no model; scripted models say "scripted:..."
    stop_at: StopAt = "pr"
    max_iterations: int = 3
    max_fix_attempts: int = 3
    max_seconds: float = 3600.0
    scenario: str | None = None
    started_at: datetime = Field(default_factory=utc_now)
    gates: dict[str, float] = Field(default_factory=dict)  # fixability score -> level ([autonomy] gates)
    stress_runs: int = 0  # re-runs of the formerly failing tests before a PR ([limits] stress_runs)
    all_tiers: bool = False  # run every tier at once instead of P1 first, widening as tiers hold (--all-tiers)


class Event(Record):
    """One line of the execution log."""

    at: datetime = Field(default_factory=utc_now)
    node: str
    text: str
    iteration: int = 0
    detail: str = ""  # command output, trimmed
    command: list[str] = Field(default_factory=list)  # the command run, when there was one


class RerunRecord(Record):
    """One re-run of failing tests on the same commit (the evidence behind a ``flaky`` label)."""

    rerun: int  # 1-based
    command: list[str] = Field(default_factory=list)
    outcomes: dict[str, str] = Field(default_factory=dict)  # node id -> outcome in this re-run


class IterationRecord(Record):
    """One pass of select/run/realness/categorize."""

    iteration: int
    selection: Selection | None = None
    test_run: TestRun | None = None
    findings: list[Finding] = Field(default_factory=list)
    verdicts: list[TierVerdict] = Field(default_factory=list)
    categories: list[Category] = Field(default_factory=list)
    revision: str | None = None
    phase: PhaseRecord | None = None  # the verifiable record of this iteration's test phase
    reruns: list[RerunRecord] = Field(default_factory=list)  # failing tests re-run on the same commit
    tiers_run: list[int] = Field(default_factory=list)  # the phase: the tier priorities its test run covered


class FixAttempt(Record):
    attempt: int
    fix: FixProposal | None = None
    audit: AuditResult | None = None
    validated: bool = False
    outcome: str = ""  # why it was kept or sent back
    feedback: str = ""  # what the fixer was told for this attempt
    stress: StressResult | None = None  # re-runs of the formerly failing tests after validation
    validated_tests: dict[str, str] = Field(default_factory=dict)  # test id -> outcome of the validation run


class Investigation(Record):
    """What one sub-agent found and did for one category in one iteration."""

    iteration: int
    category: Category
    started_at: datetime = Field(default_factory=utc_now)
    finished_at: datetime | None = None
    evidence: EvidenceBundle | None = None
    five_whys: FiveWhys | None = None
    attempts: list[FixAttempt] = Field(default_factory=list)
    fix: FixProposal | None = None  # the accepted fix (validated and audited), if any
    audit: AuditResult | None = None
    branch: str | None = None
    commit: str | None = None
    pr: PullRequestRecord | None = None
    findings: list[Finding] = Field(default_factory=list)
    outcome: Literal["diagnosed", "fixed", "unfixed"] = "diagnosed"
    report: str = ""  # why this category gets a report and no code fix ("" = it may be fixed)
    covered_by: str = ""  # the category whose PR also carries this one's (identical) fix

    def key(self) -> tuple[int, str]:
        return (self.iteration, self.category.id)


class CategoryUsage(UsageRecord):
    """The model usage of one investigation of a category (five whys, fix attempts, audits).

    A rejected fix sends the category back to the fixer in the same iteration: that second investigation
    adds a second entry, so the state's ``usage`` list is append-only and summed per category."""

    iteration: int = 0
    category_id: str = ""
    kind: str = ""


def merge_investigations(current: list[Investigation], update: list[Investigation]) -> list[Investigation]:
    """Reducer: a newer record for the same (iteration, category) replaces the old one, order kept."""
    merged = {inv.key(): inv for inv in current}
    for inv in update:
        merged[inv.key()] = inv
    return list(merged.values())


def merge_iterations(current: list[IterationRecord], update: list[IterationRecord]) -> list[IterationRecord]:
    """Reducer: one record per iteration number, the newest wins."""
    merged = {rec.iteration: rec for rec in current}
    for rec in update:
        merged[rec.iteration] = rec
    return [merged[k] for k in sorted(merged)]


def merge_prs(current: list[PullRequestRecord], update: list[PullRequestRecord]) -> list[PullRequestRecord]:
    """Reducer: one record per PR number, the newest wins."""
    merged = {pr.number: pr for pr in current}
    for pr in update:
        merged[pr.number] = pr
    return list(merged.values())


class RemediationState(TypedDict, total=False):
    """The remediation loop's state (one thread = one run)."""

    run: RunInfo
    status: RunStatusValue
    iteration: int
    iterations: Annotated[list[IterationRecord], merge_iterations]
    investigations: Annotated[list[Investigation], merge_investigations]
    prs: Annotated[list[PullRequestRecord], merge_prs]
    approvals: Annotated[list[ApprovalRecord], operator.add]
    deploys: Annotated[list[DeployRecord], operator.add]
    events: Annotated[list[Event], operator.add]
    merged_revision: str  # the commit the last merge produced, for the deploy
    feedback: str  # a reviewer's rejection reason, for the next fixer attempt
    outcome: str  # why the run ended the way it did
    usage: Annotated[list[CategoryUsage], operator.add]  # model usage per investigation (costs.py sums it)


class InvestigationInput(TypedDict):
    """What the fan-out sends to one investigation sub-agent."""

    run: RunInfo
    iteration: int
    category: Category
    test_run: TestRun
    selection: Selection
    feedback: str


class InvestigationState(InvestigationInput, total=False):
    started_at: datetime
    evidence: EvidenceBundle
    five_whys: FiveWhys
    attempts: list[FixAttempt]
    findings: list[Finding]
    spent: UsageRecord  # model usage of this investigation so far (each model-calling node adds its own)
    report: str  # set by the evidence step: report only, no fix (flaky, infrastructure)
    investigations: Annotated[list[Investigation], merge_investigations]
    events: Annotated[list[Event], operator.add]
    usage: Annotated[list[CategoryUsage], operator.add]


class InvestigationOutput(TypedDict, total=False):
    investigations: Annotated[list[Investigation], merge_investigations]
    events: Annotated[list[Event], operator.add]
    usage: Annotated[list[CategoryUsage], operator.add]
