"""The remediation loop (DESIGN.md steps 1-10) as a durable LangGraph ``StateGraph``.

intake -> select -> run_tests -> realness -> categorize -> fan-out (``Send``, one
investigation subgraph per category, in parallel) -> collect -> open_prs ->
approval (``interrupt()``) -> merge -> deploy -> run_tests again ...

Ends ``green`` (tier tolerances hold), ``gave_up`` (limits, no acceptable fix,
unhealthy deploy) or ``diagnosed`` (no model, or stop-at diagnose/patch).
Side-effecting nodes are idempotent so that a killed run resumed from its last
checkpoint never opens a second PR, merges twice or deploys twice.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Checkpointer, Command, Send, interrupt

from fixloop.agents.fixability import fixability, may_reach
from fixloop.agents.pr_groups import pr_groups
from fixloop.agents.reporter import pr_body
from fixloop.agents.triage import categorize, detect_flaky
from fixloop.approval import approved_prs, check_approver
from fixloop.at_rest import raw_output_dir, seal_test_run
from fixloop.autonomy import effective_level
from fixloop.context import RunContext
from fixloop.costs import budget_reason, outage_reason
from fixloop.errors import ApprovalError, FixloopError
from fixloop.graphs.collect_policy import Collected, decide
from fixloop.graphs.crash import crash_point
from fixloop.graphs.investigation import build_investigation_graph
from fixloop.graphs.quarantine_prs import open_quarantine_pr, quarantine_plans
from fixloop.intake import run_info
from fixloop.records import ApprovalRecord, Category, DeployRecord, PullRequestRecord, TestRun, utc_now
from fixloop.run_record import capture_phase
from fixloop.state import (
    Event,
    Investigation,
    InvestigationInput,
    IterationRecord,
    RemediationState,
    RerunRecord,
    RunInfo,
)
from fixloop.target import available_test_env, target_status
from fixloop.tools.realness import check_realness
from fixloop.tools.run_tests import run_tests
from fixloop.tools.select_tests import select_tests
from fixloop.tools.tiers import evaluate_tiers, phase_name
from fixloop.vocabulary import ENDED

TERMINAL = ENDED


def _event(state: RemediationState, node: str, text: str, detail: str = "") -> Event:
    return Event(node=node, text=text, iteration=state.get("iteration", 0), detail=detail)


def _current(state: RemediationState) -> IterationRecord:
    number = state.get("iteration", 1)
    for rec in state.get("iterations", []):
        if rec.iteration == number:
            return rec
    return IterationRecord(iteration=number)


def _current_investigations(state: RemediationState) -> list[Investigation]:
    number = state.get("iteration", 1)
    return [inv for inv in state.get("investigations", []) if inv.iteration == number]


# ---------------------------------------------------------------- 1-5: intake, select, run, realness, categorize


def intake_node(state: RemediationState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    run = run_info(state.get("run"), runtime.context)  # JSON from LangGraph Server becomes the RunInfo record
    runtime.context.notify(f"run {run.thread_id}: focus '{run.focus}' on {run.repo} (requested by {run.requested_by})")
    text = f"intake: focus '{run.focus}', repo {run.repo}, llm {run.llm_mode}, stop at {run.stop_at}"
    return {"run": run, "status": "running", "iteration": 1, "events": [_event({"iteration": 1}, "intake", text)]}


def select_node(state: RemediationState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    selection = select_tests(ctx.repo, state["run"].focus, ctx.settings)
    targets = selection.test_targets()
    summary = ", ".join(f"P{t.priority} {t.name}: {len(t.files)} files" for t in sorted(selection.tiers, key=_prio))
    ctx.notify(f"selected {len(targets)} test targets ({summary or selection.message})")
    record = _current(state).model_copy(update={"selection": selection})
    update: dict[str, Any] = {"iterations": [record], "events": [_event(state, "select", f"selected: {summary}")]}
    if not targets:
        reason = selection.message or f"no test matches focus '{state['run'].focus}'"
        update.update(status="gave_up", outcome=reason)
    return update


def phase_tiers(state: RemediationState, selection: Any) -> list[int]:
    """The tiers this test run covers: all with ``--all-tiers``; else the phase so far (P1 at first)."""
    priorities = sorted(t.priority for t in selection.tiers)
    if state["run"].all_tiers or not priorities:
        return priorities
    if _current(state).tiers_run:  # widened within this iteration
        return _current(state).tiers_run
    earlier = [rec.tiers_run for rec in state.get("iterations", []) if rec.tiers_run]
    return earlier[-1] if earlier else priorities[:1]


def _wider_phase(state: RemediationState, record: IterationRecord) -> list[int]:
    """The next phase's tiers (this one's plus the next tier), or [] when every tier has run."""
    selection = _selection(state)
    left = sorted(t.priority for t in selection.tiers if t.priority not in record.tiers_run)
    return [*record.tiers_run, left[0]] if left and record.tiers_run else []


def _phase_view(selection: Any, tiers: list[int]) -> Any:
    """``selection`` with only the tiers of the phase (all of them when ``tiers`` is empty)."""
    if not tiers:
        return selection
    return selection.model_copy(update={"tiers": [t for t in selection.tiers if t.priority in tiers]})


def _prio(tier: Any) -> int:
    return int(tier.priority)


def _selection(state: RemediationState) -> Any:
    for rec in state.get("iterations", []):
        if rec.selection is not None:
            return rec.selection
    raise FixloopError("internal: no selection recorded before running tests")


def run_tests_node(state: RemediationState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    selection = _selection(state)
    number = state["iteration"]
    out = ctx.out_dir / f"iteration-{number}"
    out.mkdir(parents=True, exist_ok=True)
    env = _target_env(ctx)
    tiers = phase_tiers(state, selection)
    phase_view = _phase_view(selection, tiers)
    targets = phase_view.test_targets()
    ctx.notify(f"iteration {number}, phase {phase_name(tiers)}: running {len(targets)} test targets")
    with ctx.stage("tests", f"iteration {number}, phase {phase_name(tiers)}, {len(targets)} targets"):
        test_run = run_tests(ctx.repo, targets, ctx.settings, env=env, out_dir=out)
    # redacted before anything keeps it: OUT's files (then copied and hashed), the record (then checkpointed)
    test_run = seal_test_run(test_run, out, ctx.redactor, raw_dir=raw_output_dir(ctx), label=out.name)
    counts = ", ".join(f"{v} {k}" for k, v in sorted(test_run.counts().items())) or "no results"
    phase = capture_phase(ctx, test_run, iteration=number)
    record = _current(state).model_copy(
        update={
            "selection": selection, "test_run": test_run, "revision": test_run.revision, "phase": phase,
            "tiers_run": tiers,
        }
    )  # fmt: skip
    ran = len(test_run.selected) or len(phase_view.test_targets())
    text = f"phase {phase_name(tiers)}: ran {ran} targets: {counts} (exit {test_run.exit_code})"
    if test_run.rounds > 1:
        text += f"; {test_run.rounds} pytest processes (" + ", ".join(e.reason for e in test_run.child_exits) + ")"
    if test_run.never_ran:
        text += f"; never ran: {len(test_run.never_ran)} tests"
    ctx.notify(text)
    event = _event(state, "run_tests", text, detail=test_run.stdout_tail).model_copy(
        update={"command": test_run.command}
    )
    return {"iterations": [record], "events": [event]}


def _target_env(ctx: RunContext) -> dict[str, str]:
    """The target's test env (``[target.test_env]``); a target that is down still gives its URLs (its tests then
    say connection refused), and a service fixloop did not start gives ``[target]``'s."""
    return available_test_env(ctx.repo, ctx.settings.target)


def realness_node(state: RemediationState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    record = _current(state)
    assert record.test_run is not None and record.selection is not None
    info = target_status(ctx.repo)
    ports = [info.port] if info is not None else None
    findings = check_realness(record.test_run, ctx.settings, target_ports=ports)
    verdicts = evaluate_tiers(_phase_view(record.selection, record.tiers_run), record.test_run)
    holding = sum(1 for v in verdicts if v.holds)
    text = f"realness: {len(findings)} findings; tiers holding {holding}/{len(verdicts)}"
    ctx.notify(text)
    record = record.model_copy(update={"findings": findings, "verdicts": verdicts})
    return {"iterations": [record], "events": [_event(state, "realness", text)]}


def categorize_node(state: RemediationState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    record = _current(state)
    assert record.test_run is not None
    categories = categorize(record.test_run, record.findings, repo=ctx.repo, redactor=ctx.redactor)
    serious = [f for f in record.findings if f.severity != "info"]
    green = bool(record.verdicts) and all(v.holds for v in record.verdicts) and not serious
    reruns: list[RerunRecord] = []
    if not green:
        categories, reruns = _flaky_reruns(ctx, record, categories)
    record = record.model_copy(update={"categories": categories, "reruns": reruns})
    names = ", ".join(f"{c.id} ({len(c.tests)} tests)" for c in categories) or "none"
    text = f"categories: {names}" + (f" (after {len(reruns)} re-runs of the failing tests)" if reruns else "")
    update: dict[str, Any] = {"iterations": [record], "events": [_event(state, "categorize", text)]}
    ctx.notify(text)
    wider = _wider_phase(state, record) if green else []
    if wider:  # this phase holds: run the next tier too before calling the run green
        record = record.model_copy(update={"tiers_run": wider})
        text = f"phase {phase_name(record.tiers_run[:-1])} holds its tolerance: widening to {phase_name(wider)}"
        ctx.notify(text)
        update["iterations"] = [record]
        update["events"].append(_event(state, "categorize", text))
    elif green:
        phase = phase_name(record.tiers_run)
        update.update(
            status="green", outcome=f"every tier holds its tolerance in iteration {record.iteration} (phase {phase})"
        )
    elif not categories:
        update.update(status="gave_up", outcome="tiers fail but no failure category was found")
    elif reason := _limit_reason(state):
        update.update(status="gave_up", outcome=reason)
    return update


def _flaky_reruns(
    ctx: RunContext, record: IterationRecord, categories: list[Category]
) -> tuple[list[Category], list[RerunRecord]]:
    """Re-run the failing tests on the same commit (``tests.flaky_reruns`` times); those that pass go ``flaky``."""
    assert record.test_run is not None
    out = ctx.out_dir / f"iteration-{record.iteration}"
    env = _target_env(ctx)
    done: list[TestRun] = []

    times = ctx.settings.tests.flaky_reruns

    def rerun(ids: list[str]) -> TestRun:
        number = len(done) + 1
        folder = out / f"rerun-{number}"
        ctx.notify(f"re-run {number}/{times}: {len(ids)} failing tests on the same commit (are they flaky?)")
        with ctx.stage("re-run", f"{len(ids)} failing tests, same commit", step=number, total=times):
            result = run_tests(ctx.repo, ids, ctx.settings, env=env, out_dir=folder)
        result = seal_test_run(result, folder, ctx.redactor)
        done.append(result)
        return result

    categories, reruns = detect_flaky(categories, record.test_run, rerun, times=times)
    records = [
        RerunRecord(rerun=n, command=r.command, outcomes={x.nodeid: x.outcome for x in r.results})
        for n, r in enumerate(reruns, start=1)
    ]
    return categories, records


def _limit_reason(state: RemediationState) -> str:
    run = state["run"]
    if state.get("iteration", 1) > run.max_iterations:
        return f"still failing after {run.max_iterations} fix iterations (--max-iterations)"
    elapsed = (utc_now() - run.started_at).total_seconds()
    if elapsed > run.max_seconds:
        return f"time budget of {run.max_seconds:.0f} s spent"
    return ""


def fan_out(state: RemediationState) -> list[Send] | str:
    """One investigation per category of this iteration, all in parallel (or the end, or the next phase)."""
    if state.get("status") in TERMINAL:
        return END
    record = _current(state)
    if record.tiers_run and {v.priority for v in record.verdicts} < set(record.tiers_run):
        return "run_tests"  # the phase widened: its new tier has not run yet
    return _sends(state, _current(state).categories, feedback="")


def _sends(state: RemediationState, categories: list[Any], *, feedback: str) -> list[Send]:
    record = _current(state)
    assert record.test_run is not None and record.selection is not None
    return [
        Send(
            "investigate",
            InvestigationInput(
                run=state["run"],
                iteration=record.iteration,
                category=category,
                test_run=record.test_run,
                selection=record.selection,
                feedback=feedback,
            ),
        )
        for category in categories
    ]


# ---------------------------------------------------------------- 6-7: collect, open PRs


def collect_node(state: RemediationState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    investigations = _current_investigations(state)
    facts = _collected(state["run"], investigations, runtime.context)
    text = f"collected {facts.investigations} investigations, {facts.fixed} with an accepted fix"
    runtime.context.notify(text)
    decision = decide(facts)  # the policy table (collect_policy.py): open PRs, or end and why
    event = _event(state, "collect", text, detail=f"policy case: {decision.case}")
    update: dict[str, Any] = {"events": [event], "feedback": ""}
    if decision.status is not None:
        update.update(status=decision.status, outcome=decision.outcome)
    return update


def _collected(run: RunInfo, investigations: list[Investigation], ctx: RunContext) -> Collected:
    """The facts the after-collect policy reads (quarantine plans only looked for when everything is a report)."""
    fixed = [inv for inv in investigations if inv.outcome == "fixed"]
    findings = [f for inv in investigations for f in inv.findings]
    report_only = bool(investigations) and all(inv.report and not inv.attempts for inv in investigations)
    plans, notes = quarantine_plans(ctx, run, investigations) if report_only and not fixed else ([], [])
    return Collected(
        has_model=run.llm_mode != "none" and ctx.model is not None,
        level=effective_level(run),
        investigations=len(investigations),
        fixed=len(fixed),
        all_report_only=report_only,
        quarantine_plans=len(plans),
        quarantine_notes=tuple(notes),
        reports="; ".join(f"{inv.category.id}: {inv.report}" for inv in investigations),
        outage=outage_reason(findings) or "",
        budget=budget_reason(findings) or "",
        past_pr_gate=sum(1 for inv in fixed if may_reach(inv, run.gates, "pr")),
        scores=", ".join(f"{inv.category.id} {fixability(inv, run.gates).score:.2f}" for inv in fixed),
    )


def route_after_collect(state: RemediationState) -> str:
    return END if state.get("status") in TERMINAL else "open_prs"


def open_prs_node(state: RemediationState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    if ctx.codehost is None:
        raise FixloopError(
            "no code host configured: cannot open PRs", hint="configure [codehost] or use --stop-at patch"
        )
    run = state["run"]
    updated: list[Investigation] = []
    prs: list[PullRequestRecord] = []
    # a fixability score below the PR gate stops a category before a PR (run.json "fixability")
    ready = [inv for inv in _current_investigations(state) if _fixed(inv) and may_reach(inv, run.gates, "pr")]
    for lead, *covered in pr_groups(ready):
        assert lead.fix is not None and lead.branch is not None
        ids = ", ".join(inv.category.id for inv in (lead, *covered))
        pr = ctx.codehost.open_or_update_pr(
            branch=lead.branch,
            base=ctx.settings.codehost.base_branch,
            title=f"fixloop: {lead.fix.summary} [{ids}]",
            body=ctx.redactor.redact(pr_body(run, lead, covered)),
            category_id=lead.category.id,
        )
        crash_point("open_prs:after")
        updated.append(lead.model_copy(update={"pr": pr}))
        updated += [inv.model_copy(update={"pr": pr, "covered_by": lead.category.id}) for inv in covered]
        prs.append(pr)
    plans, _ = quarantine_plans(ctx, run, _current_investigations(state))
    for inv, plan in plans:
        pr = open_quarantine_pr(ctx, run, inv, plan, _current(state).reruns)
        updated.append(inv.model_copy(update={"pr": pr, "branch": pr.branch}))
        prs.append(pr)
    listing = ", ".join(f"#{p.number} {p.url}" for p in prs)
    update: dict[str, Any] = {
        "investigations": updated,
        "prs": prs,
        "status": "awaiting_approval",
        "events": [_event(state, "open_prs", f"opened or updated {len(prs)} PRs: {listing}")],
    }
    if effective_level(run) != "merge":
        update.update(status="diagnosed", outcome=f"PRs opened ({listing}); stopped before merge (--stop-at pr)")
        ctx.notify(f"PRs opened, not merged (stop at pr): {listing}")
    else:
        ctx.notify(f"PRs ready for approval: {listing}", kind="approval")
    return update


# ---------------------------------------------------------------- 8: approval


def _fixed(inv: Investigation) -> bool:
    return inv.outcome == "fixed" and inv.branch is not None and inv.fix is not None


def _open_prs(state: RemediationState) -> list[PullRequestRecord]:
    """The open PRs of this iteration, once each (one PR may cover several categories)."""
    prs = {inv.pr.number: inv.pr for inv in _current_investigations(state) if inv.pr is not None}
    return [pr for pr in prs.values() if pr.state == "open"]


def approval_node(
    state: RemediationState, runtime: Runtime[RunContext]
) -> Command[Literal["merge", "refix", "approval"]]:
    """Wait for a human decision (``interrupt``); record it; route on it."""
    run = state["run"]
    numbers = [pr.number for pr in _open_prs(state)]
    answer = interrupt({"thread_id": run.thread_id, "prs": numbers, "requested_by": run.requested_by})
    decision = _decision(answer, runtime.context, run.requested_by, numbers)
    text = f"{decision.decision} by {decision.by} via {decision.source}" + (
        f": {decision.reason}" if decision.reason else ""
    )
    update: dict[str, Any] = {"approvals": [decision], "events": [_event(state, "approval", text)]}
    if decision.decision == "approve":
        update["status"] = "running"
        return Command(update=update, goto="merge")
    if decision.decision == "reject":
        update.update(status="running", feedback=decision.reason or "rejected without a reason")
        return Command(update=update, goto="refix")
    return Command(update=update, goto="approval")


def _decision(answer: Any, ctx: RunContext, requested_by: str, numbers: list[int]) -> ApprovalRecord:
    """The resume value as an approval record, re-checked against the rules (a crafted value is refused)."""
    data = answer if isinstance(answer, dict) else {}
    by = str(data.get("by") or "unknown")
    kind: Any = data.get("decision")
    source = str(data.get("source") or "cli")
    reason = str(data.get("reason") or "")
    at = data.get("at")
    stamp = datetime.fromisoformat(at) if isinstance(at, str) else utc_now()
    if kind in ("approve", "reject"):
        try:
            check_approver(ctx.settings.approval, requested_by=requested_by, by=by)
        except ApprovalError as exc:
            kind, reason = "refused", exc.one_line()
    else:
        kind = "refused"
        reason = reason or f"not a decision: {answer!r}"[:200]
    return ApprovalRecord(by=by, decision=kind, at=stamp, source=source, reason=reason, prs=numbers)


def refix_node(state: RemediationState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    feedback = state.get("feedback", "")
    runtime.context.notify(f"rejected: sending the reason back to the fixer: {feedback}")
    return {"events": [_event(state, "refix", f"fixer asked again with feedback: {feedback}")]}


def refix_fan_out(state: RemediationState) -> list[Send]:
    """Investigate again, with the reviewer's reason, the categories whose PRs were rejected."""
    categories = [inv.category for inv in _current_investigations(state) if inv.pr is not None]
    return _sends(state, categories, feedback=state.get("feedback", ""))


# ---------------------------------------------------------------- 9: merge, deploy


def merge_node(
    state: RemediationState, runtime: Runtime[RunContext]
) -> Command[Literal["deploy", "approval", "__end__"]]:
    """Merge exactly the PRs a valid recorded approval covers, whatever the resume value said."""
    ctx = runtime.context
    assert ctx.codehost is not None
    run = state["run"]
    if (level := effective_level(run)) != "merge":
        text = f"merge skipped: the run's level was lowered to {level} (fixloop stop-at); the PRs stay open"
        ctx.notify(text)
        update = {"status": "diagnosed", "outcome": text, "events": [_event(state, "merge", text)]}
        return Command(update=update, goto="__end__")
    pending = _open_prs(state)
    allowed = approved_prs(ctx.settings.approval, requested_by=run.requested_by, approvals=state.get("approvals", []))
    unapproved = [pr.number for pr in pending if pr.number not in allowed]
    if unapproved or not pending:
        text = f"merge refused: no valid approval for PRs {unapproved}" if unapproved else "nothing to merge"
        ctx.notify(text, kind="approval")
        return Command(
            update={"status": "awaiting_approval", "events": [_event(state, "merge", text)]}, goto="approval"
        )
    approver = _latest_approver(state)
    merged: list[PullRequestRecord] = []
    updated: list[Investigation] = []
    revision = ""
    for pr in pending:
        # CodeHost.merge is idempotent: a PR merged before a crash returns its merge sha, unmerged again.
        # pinned to the head the approval saw: a head moved since (a push to the PR) is refused by the host
        sha = ctx.codehost.merge(pr.number, approved_by=approver, expected_head=pr.head_sha or None)
        crash_point("merge:after")
        record = pr.model_copy(update={"state": "merged", "head_sha": sha or pr.head_sha})
        merged.append(record)
        revision = sha or revision
        covering = [i for i in _current_investigations(state) if i.pr is not None and i.pr.number == pr.number]
        updated += [inv.model_copy(update={"pr": record}) for inv in covering]
    text = f"merged {', '.join(f'#{p.number}' for p in merged)} (approved by {approver}); revision {revision}"
    ctx.notify(text)
    return Command(
        update={
            "prs": merged,
            "investigations": updated,
            "events": [_event(state, "merge", text)],
            "merged_revision": revision,
        },
        goto="deploy",
    )


def _latest_approver(state: RemediationState) -> str:
    for record in reversed(state.get("approvals", [])):
        if record.decision == "approve":
            return record.by
    return "unknown"


def deploy_node(state: RemediationState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    if ctx.deployer is None:
        raise FixloopError("no deployer configured: cannot deploy the merged fix", hint="configure [deploy]")
    revision = state.get("merged_revision", "")
    already = _already_deployed(ctx.repo, revision)
    if already is not None:
        record = already
        text = f"revision {revision} already running: deploy skipped"
    else:
        ctx.notify(f"deploying {revision}")
        with ctx.stage("deploy", revision[:12], waits_for="the new revision to report healthy"):
            record = ctx.deployer.deploy(revision)
        crash_point("deploy:after")
        text = f"deploy of {revision}: {record.outcome}"
    ctx.notify(text)
    update: dict[str, Any] = {"events": [_event(state, "deploy", text, detail=record.output)], "deploys": [record]}
    if record.outcome != "healthy":
        update.update(status="gave_up", outcome=f"deploy of {revision} ended {record.outcome}")
    else:
        update["iteration"] = state.get("iteration", 1) + 1
    return update


def _already_deployed(repo: Path, revision: str) -> DeployRecord | None:
    if not revision:
        return None
    try:
        info = target_status(repo)
    except FixloopError:
        return None
    if info is None or not info.running or not info.revision or info.revision != revision:
        return None
    note = f"the target already runs {revision} (pid {info.pid}): deployed before an interruption, not redeployed"
    return DeployRecord(revision=revision, started=utc_now(), healthy_at=utc_now(), outcome="healthy", output=note)


def route_after_deploy(state: RemediationState) -> str:
    return END if state.get("status") in TERMINAL else "run_tests"


def route_on_status(next_node: str) -> Any:
    def route(state: RemediationState) -> str:
        return END if state.get("status") in TERMINAL else next_node

    return route


# ---------------------------------------------------------------- the graph


def build_graph(*, checkpointer: Checkpointer = None) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The compiled remediation loop; pass a checkpointer for a durable run."""
    builder: StateGraph[Any, Any, Any, Any] = StateGraph(RemediationState, context_schema=RunContext)
    builder.add_node("intake", intake_node)
    builder.add_node("select", select_node)
    builder.add_node("run_tests", run_tests_node)
    builder.add_node("realness", realness_node)
    builder.add_node("categorize", categorize_node)
    builder.add_node("investigate", build_investigation_graph())
    builder.add_node("collect", collect_node)
    builder.add_node("open_prs", open_prs_node)
    builder.add_node("approval", approval_node, destinations=("merge", "refix", "approval"))
    builder.add_node("refix", refix_node)
    builder.add_node("merge", merge_node, destinations=("deploy", "approval", END))
    builder.add_node("deploy", deploy_node)
    builder.add_edge(START, "intake")
    builder.add_edge("intake", "select")
    builder.add_conditional_edges("select", route_on_status("run_tests"), ["run_tests", END])
    builder.add_edge("run_tests", "realness")
    builder.add_edge("realness", "categorize")
    builder.add_conditional_edges("categorize", fan_out, ["investigate", "run_tests", END])
    builder.add_edge("investigate", "collect")
    builder.add_conditional_edges("collect", route_after_collect, ["open_prs", END])
    builder.add_conditional_edges("open_prs", route_on_status("approval"), ["approval", END])
    builder.add_conditional_edges("refix", refix_fan_out, ["investigate"])
    builder.add_conditional_edges("deploy", route_after_deploy, ["run_tests", END])
    return builder.compile(checkpointer=checkpointer, name="remediation")


graph = build_graph()
