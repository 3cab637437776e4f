"""The Markdown worklog, section by section, in the shape of the seed's manual worklog."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from fixloop.agents.triage import hung_tests
from fixloop.records import TestRun
from fixloop.state import Event, Investigation, IterationRecord, RunInfo
from fixloop.text_trim import tail_at_line
from fixloop.tools.tiers import phase_name

INFRA_KINDS = ("environment", "timeout")
OUTPUT_LIMIT = 3000
MAX_REPRODUCE_IDS = 8
# what the loop does when it enters a node: the "Next action" written after the phase before it
DOING = {
    "intake": "read the request",
    "select": "select the tests for the focus, in priority tiers",
    "run_tests": "run the selected tests against the target",
    "realness": "check that the run proves something (realness)",
    "categorize": "group the failures into categories (and re-run them on the same commit)",
    "evidence": "gather evidence for a category: failing output, logs of its window, code locations",
    "five_whys": "five whys from the evidence",
    "fix": "propose a patch",
    "validate": "validate the patch in an isolated worktree against its own target",
    "audit": "SSOT audit of the validated patch",
    "collect": "collect the investigations",
    "open_prs": "open one PR per fault",
    "approval": "wait for a human approval",
    "refix": "send the reviewer's reason back to the fixer",
    "merge": "merge the approved PRs",
    "deploy": "deploy the merged revision and wait until it is healthy",
}


def _ts(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else "-"


def _trim(text: str, limit: int = OUTPUT_LIMIT) -> str:
    """The last ``limit`` characters of ``text`` in whole lines (a traceback's end is where its error is)."""
    text = text.strip()
    if len(text) <= limit:
        return text
    kept = tail_at_line(text, limit)
    return f"...[{text.count(chr(10)) - kept.count(chr(10))} earlier lines trimmed]...\n{kept}"


def _fence(text: str) -> list[str]:
    return ["```", _trim(text).replace("```", "'''"), "```"]


def render_worklog(state: Mapping[str, Any], *, error: str | None = None) -> str:
    run: RunInfo = state["run"]
    iterations: list[IterationRecord] = list(state.get("iterations", []))
    investigations: list[Investigation] = list(state.get("investigations", []))
    status = "error" if error else state.get("status", "running")
    parts: list[list[str]] = [
        _header(run, status),
        _context(run, iterations, investigations),
        _summary(state, status, error, iterations, investigations),
        _reproduce(run, status, iterations),
        _impact(iterations),
        _selection(iterations),
        _execution_log(state),
        _realness(iterations),
        _categorization(iterations),
        _five_whys(investigations),
        _fixes(investigations),
        _prs(state),
        _approvals(state),
        _deploys(state),
        _criteria(iterations),
        _recommendations(state, iterations, investigations),
    ]
    return "\n".join(line for part in parts for line in [*part, ""])


def _header(run: RunInfo, status: str) -> list[str]:
    model = run.model_name or "none"
    scripted = " (scripted test double, not a real model)" if run.llm_mode == "scripted" else ""
    return [
        f"# fixloop worklog — {run.focus}",
        f"**Created**: {_ts(run.started_at)}  ",
        f"**Thread**: `{run.thread_id}`  ",
        f"**Focus**: {run.focus}  ",
        f"**Repository**: `{run.repo}`  ",
        f"**Requested by**: {run.requested_by} via {run.source}  ",
        f"**LLM**: {run.llm_mode} `{model}`{scripted}  ",
        f"**Stop at**: {run.stop_at}  ",
        f"**Status**: {status.upper()}",
    ]


def _context(run: RunInfo, iterations: list[IterationRecord], investigations: list[Investigation]) -> list[str]:
    """What was asked, against what, and where the evidence came from: the worklog's first paragraph."""
    lines = [
        "## Context",
        f"{run.requested_by} (via {run.source}) asked fixloop to make the **{run.focus}** tests of `{run.repo}` pass, "
        f"going at most as far as **{run.stop_at}** in {run.max_iterations} iteration(s).",
    ]
    phase = next((r.phase for r in iterations if r.phase is not None), None)
    if phase is not None:
        health = phase.health
        url = str(health.get("url", "the target"))
        seen = f"unreachable ({health['error']})" if "error" in health else f"answered HTTP {health.get('status')}"
        lines.append(f"Target: `{url}` {seen} when the first tests ran, at commit `{phase.commit[:12]}`.")
    sources = sorted({i.evidence.log_source for i in investigations if i.evidence and i.evidence.log_source})
    if sources:
        lines.append("Logs: " + "; ".join(sources) + ".")
    return lines


def _reproduce(run: RunInfo, status: str, iterations: list[IterationRecord]) -> list[str]:
    """A command that runs the failing tests again, on every run that is not green."""
    last = next((r for r in reversed(iterations) if r.test_run is not None), None)
    if status == "green" or last is None or last.test_run is None:
        return []
    failing = [r.nodeid for r in last.test_run.failures()]
    if not failing:
        return []
    target = shlex.join(failing) if len(failing) <= MAX_REPRODUCE_IDS else f"--focus {shlex.quote(run.focus)}"
    config = f" --config {shlex.quote(run.config_file)}" if run.config_file else ""
    return [
        "## Reproduce this failure",
        f"{len(failing)} test(s) failed in iteration {last.iteration}. Against the same target:",
        "```console",
        f"$ fixloop test --repo {shlex.quote(run.repo)}{config} {target}",
        "```",
    ]


def _summary(
    state: Mapping[str, Any],
    status: str,
    error: str | None,
    iterations: list[IterationRecord],
    investigations: list[Investigation],
) -> list[str]:
    lines = ["## Executive summary"]
    outcome = error or state.get("outcome", "")
    lines.append(f"Status **{status}**" + (f": {outcome}" if outcome else "") + ".")
    for rec in iterations:
        if rec.test_run is None:
            continue
        counts = ", ".join(f"{v} {k}" for k, v in sorted(rec.test_run.counts().items()))
        at = f" at revision `{rec.revision[:12]}`" if rec.revision else ""
        phase = f", phase {phase_name(rec.tiers_run)}" if rec.tiers_run else ""
        lines.append(f"- iteration {rec.iteration}{at}{phase}: {counts or 'no results'}")
        for category in rec.categories:
            same = [i for i in investigations if i.iteration == rec.iteration and i.category.id == category.id]
            inv = same[-1] if same else None
            cause = inv.five_whys.root_cause if inv and inv.five_whys else "under investigation"
            pr = f" → PR #{inv.pr.number} ({inv.pr.state})" if inv and inv.pr else ""
            lines.append(f"  - `{category.id}` ({category.kind}, {len(category.tests)} tests): {cause}{pr}")
    for deploy in state.get("deploys", []):
        lines.append(f"- deployed `{deploy.revision[:12]}`: {deploy.outcome}")
    return lines


def _impact(iterations: list[IterationRecord]) -> list[str]:
    lines = ["## Impact"]
    selection = next((r.selection for r in iterations if r.selection is not None), None)
    if selection is None or not selection.tiers:
        return [*lines, "(no test index tiers known yet)"]
    lines.append("| priority | tier | tolerance | business impact |")
    lines.append("|---|---|---|---|")
    for tier in sorted(selection.tiers, key=lambda t: t.priority):
        lines.append(f"| P{tier.priority} | {tier.name} | {tier.tolerance:.0%} | {tier.impact or '-'} |")
    return lines


def _selection(iterations: list[IterationRecord]) -> list[str]:
    lines = ["## Test focus selection"]
    selection = next((r.selection for r in iterations if r.selection is not None), None)
    if selection is None:
        return [*lines, "(not selected yet)"]
    if selection.index_path:
        lines.append(f"Test index: `{selection.index_path}`")
    if selection.message:
        lines.append(selection.message)
    for tier in sorted(selection.tiers, key=lambda t: t.priority):
        lines.append(f"### Priority {tier.priority}: {tier.name}")
        for n, f in enumerate(tier.files, 1):
            count = f" ({len(f.tests)} tests)" if f.tests else ""
            lines.append(f"{n}. **`{f.path}`**{count} — {f.reason} (score {f.score:.2f})")
    if selection.required_env:
        lines.append(f"Required env: {', '.join(selection.required_env)}")
    return lines


def _execution_log(state: Mapping[str, Any]) -> list[str]:
    lines = ["## Execution log"]
    events: list[Event] = sorted(state.get("events", []), key=lambda e: e.at)
    shown: dict[str, str] = {}  # command line -> the event that printed it first
    for number, event in enumerate(events):
        stamp = _ts(event.at)
        lines.append(f"### [{stamp}] {event.node} (iteration {event.iteration})")
        lines.append(event.text)
        if event.command:
            command = shlex.join(event.command)
            if command in shown:
                lines.append(f"(the same command as at {shown[command]})")
            else:
                shown[command] = stamp
                lines.extend(["```console", "$ " + _trim(command, 2000), "```"])
        if event.detail:
            lines.extend(_fence(event.detail))
        lines.append(f"**Next action:** {_next_action(state, events[number + 1 :])}")
    return lines


def _next_action(state: Mapping[str, Any], later: list[Event]) -> str:
    """What the run did next (the following event), or what it waits for when nothing followed."""
    if later:
        node = later[0].node.split("[", 1)[0]
        where = later[0].node[len(node) :].strip("[]")
        return DOING.get(node, node) + (f" ({where})" if where else "")
    status = state.get("status", "running")
    thread = state["run"].thread_id
    if status == "awaiting_approval":
        return f"a human decision: `fixloop approve {thread} --by NAME` or `fixloop reject {thread} ...`"
    if status == "running":
        return "in progress (or interrupted: `fixloop resume " + thread + "`)"
    return f"none — the run ended {status}"


def _realness(iterations: list[IterationRecord]) -> list[str]:
    lines = ["## Realness validation"]
    for rec in iterations:
        if rec.test_run is None:
            continue
        if not rec.findings:
            lines.append(f"- iteration {rec.iteration}: no finding; {_contact(rec.test_run)}")
        for f in rec.findings:
            test = f" `{f.test}`" if f.test else ""
            lines.append(f"- iteration {rec.iteration}: **{f.kind}** ({f.severity}){test}: {f.message}")
    return lines


def _contact(run: TestRun) -> str:
    """What the tests' recorded connections show (never claims a target was reached when none was)."""
    reached = [r for r in run.results if r.connections]
    if not reached:
        return "no test recorded a connection to a target"
    ports = sorted({c.port for r in reached for c in r.connections})
    return f"{len(reached)}/{len(run.results)} tests connected to the target (ports {', '.join(map(str, ports))})"


def _categorization(iterations: list[IterationRecord]) -> list[str]:
    lines = ["## Categorization"]
    for rec in iterations:
        if rec.test_run is None:
            continue
        lines.append(f"### Iteration {rec.iteration}")
        lines.extend(_working(rec.test_run))
        lines.extend(_interrupted(rec.test_run))
        failing = [c for c in rec.categories if c.kind not in INFRA_KINDS]
        infra = [c for c in rec.categories if c.kind in INFRA_KINDS]
        lines.append(f"**Failing** ({len(failing)} categories):")
        for c in failing:
            lines.append(f"- `{c.id}` {c.kind}: {c.title} — {', '.join(f'`{t}`' for t in c.tests)}")
        lines.append(f"**Infrastructure** ({len(infra)} categories):")
        for c in infra:
            lines.append(f"- `{c.id}` {c.kind}: {c.title} — {', '.join(f'`{t}`' for t in c.tests)}")
        lines.extend(_reruns(rec))
    return lines


def _reruns(rec: IterationRecord) -> list[str]:
    """The re-runs of the failing tests on the same commit: the evidence of a ``flaky`` label."""
    lines = []
    if rec.reruns:
        lines.append(f"**Re-runs on the same commit** ({len(rec.reruns)}, `tests.flaky_reruns`):")
        for rerun in rec.reruns:
            outcomes = ", ".join(f"`{test}` {outcome}" for test, outcome in rerun.outcomes.items())
            lines.append(f"- re-run {rerun.rerun}: {outcomes or 'no results'}")
    hung = hung_tests(rec.test_run) if rec.test_run is not None and rec.categories else []
    if hung:
        lines.append(
            f"**Not re-run for flakiness** ({len(hung)}): ended as a hang or at the per-test timeout; a re-run would "
            "pay its timeout again — " + ", ".join(f"`{t}`" for t in hung)
        )
    return lines


NEVER_RAN_SHOWN = 200


def _interrupted(run: TestRun) -> list[str]:
    """The pytest processes that ended before their tests did, and the tests that never ran."""
    lines = []
    for end in run.child_exits:
        status = f"killed by {end.signal}" if end.signal else f"exit status {end.exit_code}"
        then = "; a new pytest process ran the tests after it" if end.restarted else ""
        detail = f", {end.detail}" if end.detail else ""
        last = f", last test started `{end.last_test}`" if end.last_test else ""
        lines.append(f"**pytest ended early** (round {end.round}): {end.reason}, {status}{detail}{last}{then}")
    if run.never_ran:
        lines.append(f"**never ran: {len(run.never_ran)} tests**:")
        lines.extend(f"- `{nodeid}`" for nodeid in run.never_ran[:NEVER_RAN_SHOWN])
        if len(run.never_ran) > NEVER_RAN_SHOWN:
            lines.append(f"- ... and {len(run.never_ran) - NEVER_RAN_SHOWN} more (all in run.json)")
    return lines


def _working(run: TestRun) -> list[str]:
    passed = [r.nodeid for r in run.results if r.outcome == "passed"]
    skipped = [r for r in run.results if r.outcome == "skipped"]
    lines = [f"**Working** ({len(passed)} passed):"]
    lines.extend(f"- `{n}`" for n in passed[:40])
    if len(passed) > 40:
        lines.append(f"- ... and {len(passed) - 40} more")
    if skipped:
        lines.append(
            f"**Skipped** ({len(skipped)}): " + "; ".join(f"`{r.nodeid}` ({r.skip_reason})" for r in skipped[:10])
        )
    return lines


def five_whys_markdown(inv: Investigation) -> str:
    chain = inv.five_whys
    if chain is None:
        return "(not investigated yet)"
    evidence = {item.id: item for item in (inv.evidence.items if inv.evidence else [])}
    lines = []
    for n, step in enumerate(chain.steps, 1):
        cites = ", ".join(step.evidence) or "no evidence cited"
        lines.append(f"{n}. **{step.question}** {step.answer} [{cites}]")
    lines.append(f"\n**Root cause** ({chain.method}, confidence {chain.confidence:.2f}): {chain.root_cause}")
    if chain.fix_location:
        lines.append(f"**Where the fix belongs (SSOT)**: `{chain.fix_location}`")
    cited = [eid for step in chain.steps for eid in step.evidence]
    if cited:
        lines.append("\n**Evidence cited**:")
        for eid in dict.fromkeys(cited):
            item = evidence.get(eid)
            if item is None:
                lines.append(f"- {eid}: (not in the bundle)")
                continue
            lines.append(f"- {eid} ({item.kind}, {item.source or item.title}):")
            lines.extend("  " + line for line in _fence(_trim(item.text, 600)))
    return "\n".join(lines)


def _five_whys(investigations: list[Investigation]) -> list[str]:
    lines = ["## Five whys per category"]
    for inv in investigations:
        took = ""
        if inv.finished_at is not None:
            took = f" (investigated {_ts(inv.started_at)} → {_ts(inv.finished_at)})"
        lines.append(f"### `{inv.category.id}` ({inv.category.kind}), iteration {inv.iteration}{took}")
        if inv.report:
            lines.append(f"**Reported, no code fix** — {inv.report}")
        if inv.evidence is not None:
            logs = inv.evidence.log_source or "; ".join(n for n in inv.evidence.notes if "log" in n) or "none"
            lines.append(f"Logs read: {logs}")
        lines.append(five_whys_markdown(inv))
        for f in inv.findings:
            lines.append(f"- finding **{f.kind}**: {f.message}")
    return lines


def _no_fix(outcome: str) -> str:
    from fixloop.costs import OUTAGE_OUTCOME

    return "the model was not reached" if outcome.startswith(OUTAGE_OUTCOME) else "no patch"


def _fixes(investigations: list[Investigation]) -> list[str]:
    lines = ["## Fixes and audits"]
    for inv in investigations:
        if not inv.attempts:
            continue
        lines.append(f"### `{inv.category.id}`, iteration {inv.iteration}: {inv.outcome}")
        for attempt in inv.attempts:
            summary = attempt.fix.summary if attempt.fix else _no_fix(attempt.outcome)
            lines.append(f"- attempt {attempt.attempt}: {summary} → {attempt.outcome or 'pending'}")
            if attempt.validated_tests:
                ran = ", ".join(f"`{test}` {outcome}" for test, outcome in attempt.validated_tests.items())
                lines.append(f"  - validation ran {len(attempt.validated_tests)} tests: {ran}")
            if attempt.feedback:
                lines.append(f"  - feedback given: {attempt.feedback}")
            if attempt.audit is not None:
                verdict = "passed" if attempt.audit.passed else "failed"
                lines.append(f"  - SSOT audit {verdict} ({attempt.audit.reviewer})")
                lines.extend(f"    - {f.check}: {f.message}" for f in attempt.audit.findings)
        if inv.fix is not None:
            lines.append("Accepted patch:")
            lines.extend(["```diff", _trim(inv.fix.patch, 6000), "```"])
    return lines


def _prs(state: Mapping[str, Any]) -> list[str]:
    lines = ["## Pull requests"]
    for pr in state.get("prs", []):
        lines.append(f"- #{pr.number} [{pr.state}] {pr.title} — {pr.url} (branch `{pr.branch}` → `{pr.base}`)")
    return lines if len(lines) > 1 else [*lines, "(none)"]


def _approvals(state: Mapping[str, Any]) -> list[str]:
    lines = ["## Approvals"]
    for a in state.get("approvals", []):
        reason = f": {a.reason}" if a.reason else ""
        prs = ", ".join(f"#{n}" for n in a.prs)
        lines.append(f"- [{_ts(a.at)}] **{a.decision}** by {a.by} via {a.source} (PRs {prs}){reason}")
    if state.get("status") == "awaiting_approval":
        thread = state["run"].thread_id
        lines.append(f"Waiting for approval: `fixloop approve {thread} --by NAME` or `fixloop reject {thread} ...`")
    return lines if len(lines) > 1 else [*lines, "(none)"]


def _deploys(state: Mapping[str, Any]) -> list[str]:
    lines = ["## Deploys"]
    for d in state.get("deploys", []):
        lines.append(f"- [{_ts(d.started)}] revision `{d.revision}`: {d.outcome}, healthy at {_ts(d.healthy_at)}")
        if d.output:
            lines.extend(_fence(d.output))
    return lines if len(lines) > 1 else [*lines, "(none)"]


def _criteria(iterations: list[IterationRecord]) -> list[str]:
    lines = ["## Success criteria per tier"]
    done = [r for r in iterations if r.verdicts]
    if not done:
        return [*lines, "(not evaluated yet)"]
    last = done[-1]
    lines.append(f"Iteration {last.iteration}:")
    lines.append("| priority | tier | tolerance | executed | failed | skipped | holds |")
    lines.append("|---|---|---|---|---|---|---|")
    for v in last.verdicts:
        mark = "yes" if v.holds else f"**no** {v.reason}"
        lines.append(
            f"| P{v.priority} | {v.name} | {v.tolerance:.0%} | {v.executed} | {v.failed} | {v.skipped} | {mark} |"
        )
    return lines


def _recommendations(
    state: Mapping[str, Any], iterations: list[IterationRecord], investigations: list[Investigation]
) -> list[str]:
    lines = ["## Recommendations"]
    status = state.get("status")
    run: RunInfo = state["run"]
    last = iterations[-1] if iterations else None
    if status == "diagnosed" and run.llm_mode == "none":
        lines.append("- Diagnosis only: rerun with a model (`--llm openai`) to get validated, audited patches.")
    for inv in investigations:
        if last is None or inv.iteration != last.iteration:
            continue
        chain = inv.five_whys
        if chain and chain.fix_location and inv.outcome != "fixed":
            lines.append(f"- `{inv.category.id}`: fix at `{chain.fix_location}` — {chain.root_cause}")
        if inv.outcome == "unfixed":
            lines.append(f"- `{inv.category.id}`: no acceptable fix; see the attempts above.")
    if last is not None:
        for f in last.findings:
            if f.severity != "info":
                lines.append(f"- realness: {f.message}")
    if status == "awaiting_approval":
        lines.append(f"- Review the PRs and run `fixloop approve {run.thread_id} --by NAME`.")
    return lines if len(lines) > 1 else [*lines, "- none"]
