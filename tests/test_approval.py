"""Approval rules: approvers list, four-eyes, and the merge node's re-check against forged records."""

from __future__ import annotations

from typing import Literal

import pytest

from fixloop.approval import approved_prs, check_approver, decision_record, require_approved, resolve_user
from fixloop.config import ApprovalSettings
from fixloop.errors import ApprovalError
from fixloop.records import ApprovalRecord

RULES = ApprovalSettings(approvers=["alice", "bob"])


def test_requester_cannot_approve_their_own_run() -> None:
    with pytest.raises(ApprovalError, match=r"'alice' requested this run.*four-eyes") as info:
        check_approver(RULES, requested_by="alice", by="alice")
    assert info.value.exit_code != 0


def test_requester_check_ignores_case_and_spaces() -> None:
    with pytest.raises(ApprovalError, match="four-eyes"):
        check_approver(RULES, requested_by="Alice ", by="alice")


def test_a_requester_who_is_no_approver_hears_the_four_eyes_rule() -> None:
    with pytest.raises(ApprovalError, match="'carol' requested this run and cannot approve it"):
        check_approver(RULES, requested_by="carol", by="carol")


def test_non_approver_is_refused() -> None:
    with pytest.raises(ApprovalError, match="'mallory' is not an approver"):
        check_approver(RULES, requested_by="carol", by="mallory")


def test_approver_is_accepted() -> None:
    check_approver(RULES, requested_by="carol", by="alice")
    check_approver(RULES, requested_by="carol", by="BOB")


def test_four_eyes_off_lets_the_requester_approve() -> None:
    check_approver(ApprovalSettings(approvers=["alice"], four_eyes=False), requested_by="alice", by="alice")


def test_no_approvers_configured_refuses_everyone() -> None:
    with pytest.raises(ApprovalError, match="no approvers are configured"):
        check_approver(ApprovalSettings(), requested_by="carol", by="alice")


def test_empty_approver_name_is_refused() -> None:
    with pytest.raises(ApprovalError, match="no approver named"):
        check_approver(RULES, requested_by="carol", by="  ")


def rec(by: str, decision: Literal["approve", "reject", "refused"], prs: list[int], reason: str = "") -> ApprovalRecord:
    return ApprovalRecord(by=by, decision=decision, prs=prs, reason=reason)


def test_valid_approval_covers_exactly_its_prs() -> None:
    assert approved_prs(RULES, requested_by="carol", approvals=[rec("alice", "approve", [1, 2])]) == {1, 2}


def test_forged_records_count_for_nothing() -> None:
    forged = [
        rec("carol", "approve", [1]),  # the requester
        rec("mallory", "approve", [2]),  # not an approver
        rec("alice", "refused", [3]),  # a refusal is not an approval
        rec("", "approve", [4]),
    ]
    assert approved_prs(RULES, requested_by="carol", approvals=forged) == set()


def test_later_reject_cancels_and_a_new_approval_restores() -> None:
    history = [rec("alice", "approve", [1, 2]), rec("bob", "reject", [2], "wrong fix")]
    assert approved_prs(RULES, requested_by="carol", approvals=history) == {1}
    history.append(rec("bob", "reject", []))
    assert approved_prs(RULES, requested_by="carol", approvals=history) == set()
    history.append(rec("alice", "approve", [5]))
    assert approved_prs(RULES, requested_by="carol", approvals=history) == {5}


def test_reject_by_a_non_approver_does_not_cancel() -> None:
    history = [rec("alice", "approve", [1]), rec("mallory", "reject", [])]
    assert approved_prs(RULES, requested_by="carol", approvals=history) == {1}


def test_require_approved_names_the_uncovered_prs() -> None:
    approvals = [rec("alice", "approve", [1]), rec("mallory", "approve", [2])]
    require_approved(RULES, requested_by="carol", approvals=approvals, prs=[1])
    with pytest.raises(ApprovalError, match="no valid approval for PR #2"):
        require_approved(RULES, requested_by="carol", approvals=approvals, prs=[1, 2])
    with pytest.raises(ApprovalError, match="nothing to merge"):
        require_approved(RULES, requested_by="carol", approvals=approvals, prs=[])


def test_slack_and_github_users_map_to_approver_names() -> None:
    rules = ApprovalSettings(approvers=["alice"], slack_users={"U123": "alice"}, github_users={"alice-gh": "alice"})
    assert resolve_user(rules, "U123", source="slack") == "alice"
    assert resolve_user(rules, "alice-gh", source="github") == "alice"
    assert resolve_user(rules, "alice", source="cli") == "alice"
    # An unmapped Slack user named like an approver is not that approver.
    with pytest.raises(ApprovalError, match="not an approver"):
        check_approver(rules, requested_by="carol", by=resolve_user(rules, "alice", source="slack"))


def test_the_requester_may_reject_but_a_stranger_may_not() -> None:
    check_approver(RULES, requested_by="alice", by="alice", decision="reject")
    with pytest.raises(ApprovalError, match="rejection refused: 'mallory' is not an approver"):
        check_approver(RULES, requested_by="carol", by="mallory", decision="reject")
    history = [rec("bob", "approve", [1]), rec("carol", "reject", [1]), rec("mallory", "reject", [1])]
    # carol requested the run but is no approver here: her reject counts for nothing, nor does mallory's.
    assert approved_prs(RULES, requested_by="carol", approvals=history) == {1}
    history.append(rec("alice", "reject", [1], "wrong layer"))
    assert approved_prs(RULES, requested_by="alice", approvals=history) == set()


def test_decision_record_is_refused_with_the_reason() -> None:
    refused = decision_record(RULES, requested_by="alice", by="alice", decision="approve", prs=[1], source="slack")
    assert (refused.decision, refused.by, refused.source, refused.prs) == ("refused", "alice", "slack", [1])
    assert "four-eyes" in refused.reason
    approve = decision_record(RULES, requested_by="alice", by="bob", decision="approve", prs=[1])
    assert approved_prs(RULES, requested_by="alice", approvals=[refused, approve]) == {1}
    reject = decision_record(RULES, requested_by="alice", by="alice", decision="reject", prs=[1], reason="wrong fix")
    assert (reject.decision, reject.reason) == ("reject", "wrong fix")
    assert approved_prs(RULES, requested_by="alice", approvals=[refused, approve, reject]) == set()
