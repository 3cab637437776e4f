"""The remediation graph's quarantine PRs ([autonomy] quarantine_flaky): which reported flaky categories get
one, and opening it (a branch that only adds the repo's flaky marker; see ``agents/quarantine.py``)."""

from __future__ import annotations

from fixloop.agents.quarantine import (
    QuarantinePlan,
    commit_quarantine,
    no_quarantine_note,
    plan_quarantine,
    quarantine_body,
    quarantine_title,
)
from fixloop.autonomy import effective_level
from fixloop.context import RunContext
from fixloop.graphs.crash import crash_point
from fixloop.paths import fixloop_home
from fixloop.records import PullRequestRecord
from fixloop.state import Investigation, RerunRecord, RunInfo


def quarantine_plans(
    ctx: RunContext, run: RunInfo, investigations: list[Investigation]
) -> tuple[list[tuple[Investigation, QuarantinePlan]], list[str]]:
    """Reported flaky categories a quarantine PR can mark, and a note for each one it cannot."""
    if not ctx.settings.autonomy.quarantine_flaky or effective_level(run) not in ("pr", "merge"):
        return [], []
    plans: list[tuple[Investigation, QuarantinePlan]] = []
    notes: list[str] = []
    for inv in investigations:
        if inv.category.kind != "flaky" or not inv.report:
            continue
        plan = plan_quarantine(ctx.repo, inv.category.tests)
        if plan is not None and plan.marked:
            plans.append((inv, plan))
        else:
            notes.append(no_quarantine_note(inv, plan))
    return plans, notes


def open_quarantine_pr(
    ctx: RunContext, run: RunInfo, inv: Investigation, plan: QuarantinePlan, reruns: list[RerunRecord]
) -> PullRequestRecord:
    """Commit the marker on its own branch and open (or update, by branch) its "quarantine, not a fix" PR."""
    assert ctx.codehost is not None
    name = f"i{inv.iteration}-quarantine-{inv.category.id}"
    branch = f"fixloop/{run.thread_id}/{name}"
    worktree = fixloop_home() / "worktrees" / run.thread_id / name
    title = quarantine_title(inv, plan)
    commit_quarantine(ctx.repo, branch, plan, worktree, f"{title}\n\nMarks: {', '.join(plan.marked)}")
    pr = ctx.codehost.open_or_update_pr(
        branch=branch,
        base=ctx.settings.codehost.base_branch,
        title=title,
        body=ctx.redactor.redact(quarantine_body(run.thread_id, inv, plan, reruns)),
        category_id=inv.category.id,
    )
    crash_point("open_prs:after")
    return pr
