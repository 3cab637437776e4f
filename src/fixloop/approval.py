"""Who may approve what. Asked by the faces (CLI, Slack, GitHub) and re-checked by the merge node.

The rules: the approver must be in ``approval.approvers``; with four-eyes on (the default) the
person who requested the run cannot approve it. Names compare case-insensitively, trimmed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from fixloop.config import ApprovalSettings
from fixloop.errors import ApprovalError
from fixloop.records import ApprovalRecord


def _norm(name: str) -> str:
    return name.strip().casefold()


def check_approver(rules: ApprovalSettings, *, requested_by: str, by: str, decision: str = "approve") -> None:
    """Raise ApprovalError (clear reason) unless ``by`` may approve a run requested by ``requested_by``.

    With ``decision="reject"`` only the approvers list applies: the requester may reject their own
    run's fix (a rejection never merges anything), a stranger may not.
    """
    if decision not in ("approve", "reject"):
        raise ApprovalError(f"unknown decision {decision!r}", hint="approve or reject")
    action = "approval" if decision == "approve" else "rejection"
    if not by.strip():
        raise ApprovalError(f"{action} refused: no approver named", hint="pass --by USER")
    # Four-eyes first: the requester hears the rule that stops them, whether or not they are an approver.
    if decision == "approve" and rules.four_eyes and _norm(by) == _norm(requested_by):
        raise ApprovalError(
            f"approval refused: {by!r} requested this run and cannot approve it (four-eyes rule)",
            hint="ask another approver",
        )
    if not rules.approvers:
        raise ApprovalError(
            f"{action} refused: {by!r} is not an approver (no approvers are configured)",
            hint="set approval.approvers in fixloop.toml",
        )
    if _norm(by) not in {_norm(a) for a in rules.approvers}:
        raise ApprovalError(
            f"{action} refused: {by!r} is not an approver",
            hint=f"approvers: {', '.join(rules.approvers)}",
        )


def may_decide(rules: ApprovalSettings, *, requested_by: str, by: str, decision: str = "approve") -> bool:
    try:
        check_approver(rules, requested_by=requested_by, by=by, decision=decision)
    except ApprovalError:
        return False
    return True


def resolve_user(rules: ApprovalSettings, user: str, *, source: str) -> str:
    """The approver name of a Slack user id or a GitHub login (via the settings' maps); CLI names as is.

    An unmapped Slack or GitHub user maps to a name no approver has, so it is refused by the rules.
    """
    if source == "slack":
        return rules.slack_users.get(user, f"slack:{user}")
    if source == "github":
        return rules.github_users.get(user, f"github:{user}")
    return user


def approved_prs(rules: ApprovalSettings, *, requested_by: str, approvals: list[ApprovalRecord]) -> set[int]:
    """PR numbers covered by a valid, latest-decision approval from an authorized human.

    Records are read in list (append) order. A ``refused`` record counts for nothing, and so does a
    record its author could not have made (an approval by a non-approver or, under four-eyes, by the
    requester; a rejection by a non-approver), whatever its decision says. A valid ``approve`` covers
    exactly the PRs it names; a later valid ``reject`` withdraws the PRs it names, or every PR when it
    names none.
    """
    approved: set[int] = set()
    for record in approvals:
        if record.decision == "refused":
            continue
        if not may_decide(rules, requested_by=requested_by, by=record.by, decision=record.decision):
            continue
        if record.decision == "approve":
            approved.update(record.prs)
        elif record.decision == "reject":
            if record.prs:
                approved.difference_update(record.prs)
            else:
                approved.clear()
    return approved


def decision_record(
    rules: ApprovalSettings,
    *,
    requested_by: str,
    by: str,
    decision: Literal["approve", "reject"],
    prs: list[int],
    source: str = "cli",
    reason: str = "",
) -> ApprovalRecord:
    """The record to append to the run for this decision: the decision itself when ``by`` may make it,
    else a ``refused`` record whose reason is the refusal (the caller then reports it and exits non-zero)."""
    try:
        check_approver(rules, requested_by=requested_by, by=by, decision=decision)
    except ApprovalError as exc:
        return ApprovalRecord(by=by, decision="refused", source=source, reason=exc.one_line(), prs=prs)
    return ApprovalRecord(by=by, decision=decision, source=source, reason=reason, prs=prs)


def require_approved(
    rules: ApprovalSettings, *, requested_by: str, approvals: list[ApprovalRecord], prs: list[int]
) -> None:
    """Raise ApprovalError unless every PR in ``prs`` is covered by a valid approval (the merge node's check)."""
    if not prs:
        raise ApprovalError("nothing to merge: no pull request named")
    missing = sorted(set(prs) - approved_prs(rules, requested_by=requested_by, approvals=approvals))
    if missing:
        raise ApprovalError(f"merge refused: no valid approval for PR {', '.join(f'#{n}' for n in missing)}")


def check_heads(current: Mapping[int, str], named: Sequence[str]) -> None:
    """Raise ApprovalError unless ``named`` (commit shas or prefixes) names the head commit of every PR in
    ``current`` (PR number -> head sha of the PRs waiting for approval): an approval binds to the commits it
    saw, so it is void once a PR's head moved. A name matching no waiting PR adds nothing."""
    wanted = [p.strip().lower() for p in named if p.strip()]
    heads = {number: sha.lower() for number, sha in current.items()}

    def shown() -> str:
        return ", ".join(f"#{n} at {sha[:12] or 'an unknown head'}" for n, sha in sorted(heads.items())) or "none"

    if not heads:
        raise ApprovalError("no pull request is waiting for approval")
    unnamed = [n for n, sha in heads.items() if not sha or not any(sha.startswith(p) for p in wanted)]
    if unnamed:
        raise ApprovalError(
            f"the approval names {', '.join(p[:12] for p in wanted) or 'no commit'} but the pull requests are "
            f"now {shown()}: nothing approved",
            hint="approve the heads shown now",
        )


def heads_to_confirm(heads: Mapping[int, str]) -> tuple[str, str]:
    """For an approval that named no commit: the shas to name (``"9f3c2a1b7d6e ..."``) and how the PRs stand
    (``"#1 at `9f3c2a1b7d6e`"``), as the chat faces answer it."""
    ordered = sorted(heads.items())
    return " ".join(sha[:12] for _, sha in ordered), ", ".join(f"#{n} at `{sha[:12]}`" for n, sha in ordered)
