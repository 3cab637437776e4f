"""The records passed between the stages of the loop.

This module is the contract between stages: selection produces a ``Selection``,
a test phase a ``TestRun`` of ``TestResult``, realness a list of ``Finding``,
triage a list of ``Category``, evidence an ``EvidenceBundle``, the investigator a
``FiveWhys``, the fixer a ``FixProposal``, the auditor an ``AuditResult``, the
code host a ``PullRequestRecord``; approvals and deploys are recorded as
``ApprovalRecord`` and ``DeployRecord``. All are pydantic models so that they
serialize to run.json and into checkpoints unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


def utc_now() -> datetime:
    return datetime.now(UTC)


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- selection


class SelectedFile(Record):
    path: str  # relative to the repo root, posix separators
    reason: str
    score: float = 0.0
    tests: list[str] = Field(default_factory=list)  # pytest node ids when known


class Tier(Record):
    priority: int  # 1 = core e2e for the focus
    name: str
    tolerance: float = 0.0  # allowed failure ratio, 0.0 = no failure at all
    impact: str = ""  # business impact from the test index, e.g. "$500K+ MRR at risk"
    files: list[SelectedFile] = Field(default_factory=list)


class Selection(Record):
    focus: str
    repo: str
    index_path: str | None = None
    tiers: list[Tier] = Field(default_factory=list)
    message: str = ""  # e.g. "no test matches focus 'x'"
    required_env: list[str] = Field(default_factory=list)
    markers: list[str] = Field(default_factory=list)

    def test_targets(self) -> list[str]:
        """Every file or node id to hand to pytest, in priority order, without repeats."""
        seen: dict[str, None] = {}
        for tier in sorted(self.tiers, key=lambda t: t.priority):
            for f in tier.files:
                for target in f.tests or [f.path]:
                    seen.setdefault(target, None)
        return list(seen)


# ---------------------------------------------------------------- test runs

Outcome = Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]
Phase = Literal["setup", "call", "teardown"]


class Connection(Record):
    host: str
    port: int
    count: int = 1


class TestResult(Record):
    __test__ = False  # not a pytest test class

    nodeid: str
    outcome: Outcome
    phase: Phase = "call"  # the phase that decided the outcome
    duration: float = 0.0  # seconds, sum of the phases
    longrepr: str = ""
    stdout: str = ""
    stderr: str = ""
    log: str = ""
    skip_reason: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    connections: list[Connection] = Field(default_factory=list)
    file: str = ""  # the test file, relative to the repo
    keywords: list[str] = Field(default_factory=list)  # markers on the test
    call_duration: float | None = None  # seconds in the test body alone (None: it never got there)


class ChildExit(Record):
    """A pytest process of a test run that ended before its tests did: a hang, a crash, the run's limit."""

    round: int  # 1 = the run's first pytest process; each restart adds one
    reason: Literal["hang", "crash", "run-timeout"]
    exit_code: int  # negative: killed by that signal (-9 = SIGKILL)
    signal: str | None = None  # e.g. "SIGKILL" when a signal ended it
    last_test: str | None = None  # the last test it started
    detail: str = ""  # e.g. "before its collection finished"
    restarted: bool = False  # a new pytest process ran the tests it had not reached


class TestRun(Record):
    __test__ = False

    command: list[str]
    interpreter: str
    cwd: str
    started_at: datetime
    finished_at: datetime
    exit_code: int
    results: list[TestResult] = Field(default_factory=list)
    collection_errors: list[str] = Field(default_factory=list)
    selected: list[str] = Field(default_factory=list)  # ids or files asked for
    collected: int = 0
    revision: str | None = None  # what the target's /health reported
    junit_xml: str | None = None  # path to the JUnit XML pytest wrote
    timed_out: bool = False
    stdout_tail: str = ""
    never_ran: list[str] = Field(default_factory=list)  # selected tests with no result (ids; files if uncollected)
    rounds: int = 1  # pytest processes this run took (a hang or a crash starts another for the rest)
    child_exits: list[ChildExit] = Field(default_factory=list)  # the processes that ended before their tests

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.outcome] = out.get(r.outcome, 0) + 1
        return out

    def failures(self) -> list[TestResult]:
        return [r for r in self.results if r.outcome in ("failed", "error")]


class Finding(Record):
    """Something that makes a run prove less than it seems (or any other notable fact)."""

    kind: str  # e.g. "all-skipped", "fake-pass", "no-network", "collection-error", "setup-timeout"
    test: str | None = None
    message: str
    evidence: str = ""
    severity: Literal["info", "warning", "error"] = "warning"


class TierVerdict(Record):
    priority: int
    name: str
    tolerance: float
    executed: int
    failed: int
    skipped: int
    holds: bool
    reason: str = ""


# ---------------------------------------------------------------- triage

CategoryKind = Literal["server-error", "auth", "protocol", "timeout", "environment", "test-defect", "flaky"]
CATEGORY_KINDS: tuple[str, ...] = (
    "server-error",
    "auth",
    "protocol",
    "timeout",
    "environment",
    "test-defect",
    "flaky",
)


class Frame(Record):
    file: str
    line: int
    function: str = ""


class Signature(Record):
    exception_type: str = ""
    message: str = ""  # normalized: numbers, ids, hex, timestamps, ports masked
    http_status: int | None = None
    close_code: int | None = None
    frames: list[Frame] = Field(default_factory=list)  # top frames in the target's own code

    def key(self) -> str:
        frames = ";".join(f"{f.file}:{f.function}" for f in self.frames[:3])
        return f"{self.exception_type}|{self.message}|{self.http_status}|{self.close_code}|{frames}"


class Category(Record):
    id: str  # stable within a run, e.g. "server-error-1"
    kind: CategoryKind
    title: str
    tests: list[str] = Field(default_factory=list)
    signature: Signature = Field(default_factory=Signature)
    findings: list[Finding] = Field(default_factory=list)


# ---------------------------------------------------------------- evidence

EvidenceKind = Literal["test-output", "log-template", "log-line", "code", "commit", "finding", "probe"]


class EvidenceItem(Record):
    id: str  # "E1", "E2", ... stable within a bundle
    kind: EvidenceKind
    title: str
    text: str  # redacted
    source: str = ""  # file:line, test id, log name, commit sha


class Location(Record):
    file: str
    function: str = ""
    line: int | None = None
    score: float = 0.0
    reasons: list[str] = Field(default_factory=list)


class EvidenceBundle(Record):
    category_id: str
    items: list[EvidenceItem] = Field(default_factory=list)
    locations: list[Location] = Field(default_factory=list)
    token_estimate: int = 0
    notes: list[str] = Field(default_factory=list)  # what could not be gathered, e.g. "logs unavailable: ..."
    log_source: str = ""  # where the logs came from and the time window asked for
    dropped: int = 0  # items left out to stay within the token budget

    def ids(self) -> set[str]:
        return {i.id for i in self.items}

    def item(self, item_id: str) -> EvidenceItem | None:
        return next((i for i in self.items if i.id == item_id), None)


# ---------------------------------------------------------------- reasoning and fixes


class WhyStep(Record):
    question: str
    answer: str
    evidence: list[str] = Field(default_factory=list)  # evidence ids, e.g. ["E2", "E5"]


class FiveWhys(Record):
    steps: list[WhyStep] = Field(default_factory=list)
    root_cause: str = ""
    fix_location: str = ""  # the single source of truth where the fix belongs: file[:function]
    confidence: float = 0.0
    method: Literal["rules", "llm"] = "rules"


class FixProposal(Record):
    summary: str
    patch: str  # unified diff against the repo root
    files: list[str] = Field(default_factory=list)
    attempt: int = 1
    validated: bool = False
    validation: str = ""  # what the re-run showed


class AuditFinding(Record):
    check: str  # e.g. "duplicate-constant", "deleted-assertion", "added-skip"
    message: str
    file: str = ""
    line: int | None = None


class AuditResult(Record):
    passed: bool
    findings: list[AuditFinding] = Field(default_factory=list)
    reviewer: Literal["deterministic", "deterministic+llm"] = "deterministic"
    notes: list[str] = Field(default_factory=list)  # e.g. why the LLM review did not happen


class PullRequestRecord(Record):
    number: int
    url: str
    branch: str
    base: str
    title: str
    state: Literal["open", "merged", "closed"] = "open"
    head_sha: str = ""
    category_id: str = ""


class ApprovalRecord(Record):
    by: str
    decision: Literal["approve", "reject", "refused"]
    at: datetime = Field(default_factory=utc_now)
    source: str = "cli"  # cli | slack | github
    reason: str = ""
    prs: list[int] = Field(default_factory=list)


class DeployRecord(Record):
    revision: str
    started: datetime
    healthy_at: datetime | None = None
    outcome: Literal["healthy", "unhealthy", "failed"] = "healthy"
    output: str = ""


# ---------------------------------------------------------------- test phase report and probes


class TestPhaseReport(Record):
    """What ``fixloop test --json`` prints and ``fixloop triage --results`` reads: the run is the ``run`` key."""

    __test__ = False

    selection: Selection | None = None
    run: TestRun
    findings: list[Finding] = Field(default_factory=list)
    tiers: list[TierVerdict] = Field(default_factory=list)


class ProbeCheck(Record):
    name: str  # e.g. "handshake", "auth-rejected", "events", "concurrency", "close-code", "latency", "health"
    ok: bool
    skipped: bool = False  # not run (e.g. no secret for the auth check); never counts as passed
    detail: str = ""
    http_status: int | None = None
    close_code: int | None = None
    latency_ms: float | None = None


class ProbeReport(Record):
    url: str
    kind: Literal["ws", "http"]
    ok: bool
    checks: list[ProbeCheck] = Field(default_factory=list)
    events: list[str] = Field(default_factory=list)  # event types received in order (first client)
    revision: str | None = None
    started_at: datetime = Field(default_factory=utc_now)


class UsageRecord(Record):
    """Model calls and tokens spent by one part of a run (e.g. one category's investigation)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def plus(self, calls: int = 0, prompt_tokens: int = 0, completion_tokens: int = 0) -> UsageRecord:
        """A new record with these amounts added."""
        return UsageRecord(
            calls=self.calls + calls,
            prompt_tokens=self.prompt_tokens + prompt_tokens,
            completion_tokens=self.completion_tokens + completion_tokens,
        )


# ---------------------------------------------------------------- test phases and stress re-runs


class Artifact(Record):
    path: str  # relative to the run directory, posix separators
    sha256: str
    kind: str  # "junit-xml", "pytest-output", "evidence"


class PhaseRecord(Record):
    """One test phase as it happened: what was asked, collected, executed, with what, against what."""

    name: str  # e.g. "iter-1"
    iteration: int
    kind: str = "iteration"  # "iteration" (the loop's test run) or "stress" (re-runs of a patch in its worktree)
    selected: list[str] = Field(default_factory=list)
    collected: list[str] = Field(default_factory=list)
    executed: list[str] = Field(default_factory=list)
    outcomes: dict[str, str] = Field(default_factory=dict)  # node id -> outcome
    command: list[str] = Field(default_factory=list)
    interpreter: str = ""
    cwd: str = ""
    exit_code: int = 0
    started_at: datetime
    finished_at: datetime
    commit: str = ""  # git HEAD of the tested checkout
    health: dict[str, Any] = Field(default_factory=dict)  # what the target's /health answered, or {"error": ...}
    artifacts: list[Artifact] = Field(default_factory=list)
    never_ran: list[str] = Field(default_factory=list)  # selected tests with no result (hang, crash, run limit)


class StressRun(Record):
    run: int
    counts: dict[str, int] = Field(default_factory=dict)
    failing: list[str] = Field(default_factory=list)
    exit_code: int = 0


class StressResult(Record):
    runs: int
    tests: list[str] = Field(default_factory=list)
    results: list[StressRun] = Field(default_factory=list)
    phase: PhaseRecord | None = None  # the verifiable record of the re-runs' pytest process

    @property
    def failures(self) -> int:
        """Re-runs with a failing, erroring or missing test."""
        return sum(1 for r in self.results if r.failing)

    def describe(self) -> str:
        per_run = "; ".join(
            f"#{r.run} " + (", ".join(f"{v} {k}" for k, v in sorted(r.counts.items())) or "no results")
            for r in self.results
        )
        return f"{self.runs - self.failures}/{self.runs} re-runs green ({per_run})"

    def finding(self, category_id: str) -> Finding:
        failing = sorted({t for r in self.results for t in r.failing})
        return Finding(
            kind="stress-failure",
            message=f"{category_id}: the patch is not proven: {self.failures} of {self.runs} stress re-runs failed",
            evidence=f"failing in a re-run: {', '.join(failing[:5])}; {self.describe()}",
            severity="error",
        )
