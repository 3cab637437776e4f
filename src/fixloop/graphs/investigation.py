"""The investigation sub-agent: one per failure category, run in parallel by the fan-out.

evidence -> five whys -> (with a model) propose fix -> validate it in an isolated
worktree against a second target started from that worktree -> SSOT audit ->
back to the fixer with the reason on failure, up to ``limits.max_fix_attempts``
-> finish (one ``Investigation`` record merged into the parent state).
"""

from __future__ import annotations

import contextlib
import functools
import shutil
from pathlib import Path
from typing import Any, Literal, Protocol, cast

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from fixloop.agents.auditor import audit_patch
from fixloop.agents.citations import citation_problems
from fixloop.agents.five_whys_rules import rule_chain
from fixloop.agents.fixer import propose_fix
from fixloop.agents.investigator import investigate
from fixloop.agents.report_only import configured_target_down, recorded_target, report_reason
from fixloop.agents.stress import stress_in_worktree
from fixloop.at_rest import seal_test_run
from fixloop.autonomy import effective_level
from fixloop.context import RunContext
from fixloop.costs import (
    OUTAGE_OUTCOME,
    budget_finding,
    is_budget_error,
    is_outage,
    outage_finding,
    stop_asking_reason,
)
from fixloop.errors import FixloopError, ModelError
from fixloop.graphs.crash import crash_point
from fixloop.intake import investigation_input
from fixloop.paths import fixloop_home
from fixloop.records import Category, EvidenceBundle, Finding, TestRun, UsageRecord, utc_now
from fixloop.state import (
    CategoryUsage,
    Event,
    FixAttempt,
    Investigation,
    InvestigationInput,
    InvestigationOutput,
    InvestigationState,
)
from fixloop.target import available_test_env, stop_target, worktree_target
from fixloop.tools.evidence import gather_evidence
from fixloop.tools.run_tests import run_tests
from fixloop.tools.spectrum import Spectrum, spectra_for, wants_spectrum
from fixloop.tools.worktree import apply_patch, commit_all, create_worktree, remove_worktree
from fixloop.usage_meter import metered


class Node(Protocol):
    """A node of this graph (the runtime passed by name, as LangGraph does)."""

    def __call__(self, state: InvestigationState, runtime: Runtime[RunContext]) -> dict[str, Any]: ...


def branch_name(thread_id: str, iteration: int, category_id: str) -> str:
    """The fix branch of one category in one iteration (a PR is found again by it)."""
    return f"fixloop/{thread_id}/i{iteration}-{category_id}"


def _metered(node: Node) -> Node:
    """``node`` with its model usage added to the investigation's ``spent`` (kept in state: it checkpoints)."""

    @functools.wraps(node)
    def counted(state: InvestigationState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        with metered() as meter:
            update = node(state, runtime)
        used, spent = meter.usage, state.get("spent", UsageRecord())
        return {**update, "spent": spent.plus(used.calls, used.prompt_tokens, used.completion_tokens)}

    return counted


def _event(state: InvestigationInput, node: str, text: str, detail: str = "") -> Event:
    return Event(node=f"{node}[{state['category'].id}]", text=text, iteration=state["iteration"], detail=detail)


def _coverage_spectrum(ctx: RunContext, category: Category, run: TestRun, findings: list[Finding]) -> Spectrum | None:
    """The category's coverage spectrum (its failing tests and the passing tests of their files re-run under
    coverage.py), as in ``fixloop triage``; None where a spectrum cannot help (e2e tests of a server in another
    process, infrastructure, hangs) or the re-run failed (a finding says why: the other signals still rank)."""
    if not wants_spectrum(category, run, ctx.settings):
        return None
    try:
        with ctx.stage("coverage", f"{category.id}: failing and passing tests under coverage.py"):
            spectra = spectra_for(
                [category],
                run,
                repo=ctx.repo,
                settings=ctx.settings,
                env=available_test_env(ctx.repo, ctx.settings.target),
            )
    except FixloopError as exc:
        findings.append(Finding(kind="evidence-error", message=f"no coverage spectrum: {exc.one_line()}"))
        return None
    return spectra.get(category.id)


def evidence_node(state: InvestigationState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    checked = investigation_input(state)  # JSON sent to LangGraph Server becomes records; records pass
    state = cast(InvestigationState, {**state, **checked})
    category = state["category"]
    started = utc_now()
    crash_point("evidence")
    ctx.notify(f"investigating {category.id} ({category.kind}, {len(category.tests)} tests)")
    findings: list[Finding] = []
    spectrum = _coverage_spectrum(ctx, category, state["test_run"], findings)
    try:
        bundle = gather_evidence(
            category,
            state["test_run"],
            repo=ctx.repo,
            logs=ctx.logs,
            settings=ctx.settings,
            focus=state["run"].focus,
            redactor=ctx.redactor,
            spectrum=spectrum,
        )
    except FixloopError as exc:
        findings.append(Finding(kind="evidence-error", message=f"evidence could not be gathered: {exc.one_line()}"))
        bundle = EvidenceBundle(category_id=category.id)
    text = f"evidence: {len(bundle.items)} items, {len(bundle.locations)} ranked locations"
    target = recorded_target(ctx.repo)
    unreachable = ""
    if target is None and category.kind == "environment":  # a service fixloop did not start: does it answer?
        unreachable = configured_target_down(ctx.settings)
    report = report_reason(
        category,
        bundle,
        target=target,
        fix_flaky=ctx.settings.autonomy.fix_flaky,
        unreachable=unreachable,
        test_env_names=[*ctx.settings.target.test_env, ctx.settings.target.token_secret_env],
        repo=ctx.repo,
        interpreter=state["test_run"].interpreter,
    )
    return {
        **checked,
        "started_at": started,
        "evidence": bundle,
        "findings": findings,
        "attempts": [],
        "report": report,
        "events": [_event(state, "evidence", text + (f"; report only: {report}" if report else ""))],
    }


def five_whys_node(state: InvestigationState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    category, bundle = state["category"], state["evidence"]
    findings = list(state.get("findings", []))
    chain = None
    if ctx.model is not None:
        try:
            with ctx.stage("model", f"{category.id}: five whys", waits_for=ctx.model.name):
                chain = investigate(
                    ctx.model,
                    category,
                    bundle,
                    feedback=state.get("feedback", ""),
                    focus=state["run"].focus,
                    redact=ctx.redactor.redact,
                )
        except ModelError as exc:
            if is_budget_error(exc):
                findings.append(budget_finding(exc, "five whys"))
            if is_outage(exc):
                findings.append(outage_finding(exc, "five whys"))
                ctx.notify(f"{category.id}: {exc.one_line()}; rule-based five whys, no fix", kind="error")
            what = "could not be asked for" if is_outage(exc) else "gave no valid"
            findings.append(
                Finding(
                    kind="model-degraded",
                    message=f"the model {what} five whys ({exc.one_line()}); rule-based chain used instead",
                )
            )
    if chain is None:
        chain = rule_chain(category, bundle, redactor=ctx.redactor)
    for problem in citation_problems(chain, bundle):
        findings.append(Finding(kind="citation", message=f"five whys: {problem}", severity="info"))
    text = f"five whys ({chain.method}): {chain.root_cause or 'no root cause'} (confidence {chain.confidence:.2f})"
    ctx.notify(f"{category.id}: {text}")
    return {"five_whys": chain, "findings": findings, "events": [_event(state, "five_whys", text)]}


def route_after_whys(state: InvestigationState, runtime: Runtime[RunContext]) -> Literal["fix", "finish"]:
    capped = bool(stop_asking_reason(state.get("findings", [])))  # a cap reached or the model endpoint down
    if runtime.context.model is None or effective_level(state["run"]) == "diagnose" or state.get("report") or capped:
        return "finish"
    return "fix"


def fix_node(state: InvestigationState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    assert ctx.model is not None  # routed here only with a model
    attempts = list(state.get("attempts", []))
    number = len(attempts) + 1
    feedback = _feedback(state)
    try:
        with ctx.stage("model", f"{state['category'].id}: fix attempt {number}", waits_for=ctx.model.name):
            fix = propose_fix(
                ctx.model,
                state["category"],
                state["evidence"],
                state["five_whys"],
                repo=ctx.repo,
                feedback=feedback,
                attempt=number,
                redact=ctx.redactor.redact,
                context_tokens=ctx.settings.llm.fix_context_tokens,
            )
    except ModelError as exc:
        if is_outage(exc):  # not the model's answer: the endpoint is down; nothing to feed back, no retry
            ctx.notify(f"{state['category'].id}: fix attempt {number} not made: {exc.one_line()}", kind="error")
            outcome = f"{OUTAGE_OUTCOME}: {exc.one_line()}"
            attempts.append(FixAttempt(attempt=number, outcome=outcome, feedback=feedback))
            return {
                "attempts": attempts,
                "findings": [*state.get("findings", []), outage_finding(exc, f"fix attempt {number}")],
                "events": [_event(state, "fix", f"attempt {number} not made: {exc.one_line()}")],
            }
        attempts.append(FixAttempt(attempt=number, outcome=f"no patch: {exc.one_line()}", feedback=feedback))
        update: dict[str, Any] = {
            "attempts": attempts,
            "events": [_event(state, "fix", f"attempt {number}: the model gave no patch")],
        }
        if is_budget_error(exc):
            update["findings"] = [*state.get("findings", []), budget_finding(exc, f"fix attempt {number}")]
        return update
    attempts.append(FixAttempt(attempt=number, fix=fix, feedback=feedback))
    text = f"attempt {number}: {fix.summary} ({', '.join(fix.files) or 'no files'})"
    ctx.notify(f"{state['category'].id}: fix {text}")
    return {"attempts": attempts, "events": [_event(state, "fix", text, detail=fix.patch)]}


def _feedback(state: InvestigationState) -> str:
    """What the fixer hears: the reviewer's rejection, then why the last attempt failed."""
    parts = []
    if state.get("feedback"):
        parts.append(f"A reviewer rejected the previous fix: {state['feedback']}")
    attempts = state.get("attempts", [])
    if attempts and attempts[-1].outcome and not attempts[-1].outcome.startswith(OUTAGE_OUTCOME):
        parts.append(f"The previous attempt failed: {attempts[-1].outcome}")  # an outage is not the model's fault
    return "\n".join(parts)


def _current(state: InvestigationState) -> FixAttempt:
    return state.get("attempts", [])[-1]


def route_after_fix(state: InvestigationState) -> Literal["validate", "fix", "finish"]:
    attempt = _current(state)
    if attempt.fix is not None:
        return "validate"
    return _retry_or_finish(state)


def _retry_or_finish(state: InvestigationState) -> Literal["fix", "finish"]:
    if stop_asking_reason(state.get("findings", [])):
        return "finish"  # a cap is reached or the endpoint is down: no further model call on this branch
    limit = state["run"].max_fix_attempts
    return "fix" if len(state.get("attempts", [])) < limit else "finish"


def validate_node(state: InvestigationState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Apply the patch in a worktree, start a target from it, re-run the failing tests and the P1 tier."""
    ctx = runtime.context
    attempts = list(state["attempts"])
    attempt = attempts[-1].model_copy()
    fix = attempt.fix
    assert fix is not None
    branch = branch_name(ctx.thread_id, state["iteration"], state["category"].id)
    worktree = fixloop_home() / "worktrees" / ctx.thread_id / f"i{state['iteration']}-{state['category'].id}"
    detail = ""
    findings = list(state.get("findings", []))
    try:
        _fresh_worktree(ctx.repo, worktree, branch)
        apply_patch(worktree, fix.patch)
        commit_all(worktree, f"fixloop: {fix.summary}\n\nCategory {state['category'].id}, attempt {attempt.attempt}.")
        run = _run_against_worktree(ctx, worktree, _validation_targets(state), state["iteration"], attempt.attempt)
        failures = run.failures()
        passed = run.counts().get("passed", 0)
        detail = run.stdout_tail
        attempt.validated_tests = {r.nodeid: r.outcome for r in run.results}
        if not failures and passed:
            attempt.validated = True
            attempt.outcome = f"validated: {passed} passed, 0 failed in the worktree"
            if state["run"].stress_runs > 0:
                stress = stress_in_worktree(
                    ctx,
                    worktree,
                    state["category"].tests,
                    runs=state["run"].stress_runs,
                    iteration=state["iteration"],
                    name=f"iter-{state['iteration']}-stress-{state['category'].id}-attempt-{attempt.attempt}",
                )
                attempt.stress = stress
                attempt.outcome += f"; stress: {stress.describe()}"
                if stress.failures:
                    attempt.validated = False
                    attempt.outcome = f"stress re-runs failed: {stress.describe()}"
                    findings.append(stress.finding(state["category"].id))
        else:
            names = ", ".join(r.nodeid for r in failures[:5]) or "nothing passed"
            attempt.outcome = f"validation failed: {len(failures)} failing after the patch ({names})"
    except FixloopError as exc:
        attempt.outcome = f"validation failed: {exc.one_line()}"
    finally:
        _drop_worktree(ctx.repo, worktree)
    attempt.fix = fix.model_copy(update={"validated": attempt.validated, "validation": attempt.outcome})
    attempts[-1] = attempt
    ctx.notify(f"{state['category'].id}: {attempt.outcome}")
    return {
        "attempts": attempts,
        "findings": findings,
        "events": [_event(state, "validate", attempt.outcome, detail=detail)],
    }


def _validation_targets(state: InvestigationState) -> list[str]:
    targets = dict.fromkeys(state["category"].tests)
    for tier in state["selection"].tiers:
        if tier.priority == 1:
            for f in tier.files:
                for target in f.tests or [f.path]:
                    targets.setdefault(target)
    return list(targets)


def _fresh_worktree(repo: Path, worktree: Path, branch: str) -> None:
    _drop_worktree(repo, worktree)
    worktree.parent.mkdir(parents=True, exist_ok=True)
    create_worktree(repo, branch, worktree)


def _drop_worktree(repo: Path, worktree: Path) -> None:
    if not worktree.exists():
        return
    with contextlib.suppress(FixloopError):  # a validation target left running by a killed process
        stop_target(worktree)
    try:
        remove_worktree(repo, worktree)
    except FixloopError:
        shutil.rmtree(worktree, ignore_errors=True)


def _run_against_worktree(ctx: RunContext, worktree: Path, targets: list[str], iteration: int, attempt: int) -> TestRun:
    out = ctx.out_dir / f"iteration-{iteration}" / f"validate-{worktree.name}-attempt-{attempt}"
    out.mkdir(parents=True, exist_ok=True)
    ctx.notify(
        f"validating attempt {attempt} in {worktree.name}: a target from the worktree, then {len(targets)} tests"
    )
    stage = ctx.stage("validate", f"{worktree.name} attempt {attempt}", waits_for="the worktree's target to start")
    with stage, worktree_target(worktree, ctx.settings.target) as env:
        run = run_tests(worktree, targets, ctx.settings, env=env, out_dir=out)
        return seal_test_run(run, out, ctx.redactor)


def route_after_validate(state: InvestigationState) -> Literal["audit", "fix", "finish"]:
    return "audit" if _current(state).validated else _retry_or_finish(state)


def audit_node(state: InvestigationState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    attempts = list(state["attempts"])
    attempt = attempts[-1].model_copy()
    assert attempt.fix is not None
    try:
        audit = audit_patch(
            attempt.fix.patch,
            ctx.repo,
            model=ctx.model,
            root_cause=state["five_whys"].root_cause,
            redact=ctx.redactor.redact,
        )
    except FixloopError as exc:
        attempt.outcome = f"audit could not run: {exc.one_line()}"
        attempt.validated = False
        attempts[-1] = attempt
        return {"attempts": attempts, "events": [_event(state, "audit", attempt.outcome)]}
    attempt.audit = audit
    if not audit.passed:
        reasons = "; ".join(f"{f.check}: {f.message}" for f in audit.findings[:5])
        attempt.outcome = f"SSOT audit failed: {reasons}"
    text = "SSOT audit passed" if audit.passed else attempt.outcome
    attempts[-1] = attempt
    ctx.notify(f"{state['category'].id}: {text}")
    return {"attempts": attempts, "events": [_event(state, "audit", text)]}


def route_after_audit(state: InvestigationState) -> Literal["fix", "finish"]:
    audit = _current(state).audit
    if audit is not None and audit.passed:
        return "finish"
    return _retry_or_finish(state)


def finish_node(state: InvestigationState) -> dict[str, Any]:
    attempts = state.get("attempts", [])
    accepted = next((a for a in reversed(attempts) if a.validated and a.audit is not None and a.audit.passed), None)
    outcome: Literal["diagnosed", "fixed", "unfixed"] = "diagnosed"
    if attempts:
        outcome = "fixed" if accepted else "unfixed"
    investigation = Investigation(
        iteration=state["iteration"],
        category=state["category"],
        started_at=state.get("started_at") or utc_now(),
        finished_at=utc_now(),
        evidence=state["evidence"],
        five_whys=state["five_whys"],
        attempts=list(attempts),
        fix=accepted.fix if accepted else None,
        audit=accepted.audit if accepted else (attempts[-1].audit if attempts else None),
        branch=branch_name(state["run"].thread_id, state["iteration"], state["category"].id) if accepted else None,
        findings=list(state.get("findings", [])),
        outcome=outcome,
        report=state.get("report", ""),
    )
    text = {"diagnosed": "diagnosed", "fixed": "fix validated and audited", "unfixed": "no acceptable fix"}[outcome]
    category, spent = state["category"], state.get("spent", UsageRecord())
    usage = CategoryUsage(
        iteration=state["iteration"], category_id=category.id, kind=category.kind, **spent.model_dump()
    )
    return {"investigations": [investigation], "usage": [usage], "events": [_event(state, "finish", text)]}


def build_investigation_graph() -> CompiledStateGraph[Any, Any, Any, Any]:
    """The compiled investigation subgraph (it inherits the parent's checkpointer)."""
    builder: StateGraph[Any, Any, Any, Any] = StateGraph(
        InvestigationState,
        context_schema=RunContext,
        input_schema=InvestigationInput,
        output_schema=InvestigationOutput,
    )
    builder.add_node("evidence", evidence_node)
    builder.add_node("five_whys", _metered(five_whys_node))
    builder.add_node("fix", _metered(fix_node))
    builder.add_node("validate", validate_node)
    builder.add_node("audit", _metered(audit_node))
    builder.add_node("finish", finish_node)
    builder.add_edge(START, "evidence")
    builder.add_edge("evidence", "five_whys")
    builder.add_conditional_edges("five_whys", route_after_whys)
    builder.add_conditional_edges("fix", route_after_fix)
    builder.add_conditional_edges("validate", route_after_validate)
    builder.add_conditional_edges("audit", route_after_audit)
    builder.add_edge("finish", END)
    return builder.compile(name="investigation")


graph = build_investigation_graph()
