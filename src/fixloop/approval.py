"""Who may approve what. Asked by the faces (CLI, Slack, GitHub) and re-checked by the merge node."""

from __future__ import annotations

from fixloop.config import ApprovalSettings
from fixloop.errors import NotReadyError
from fixloop.records import ApprovalRecord


def check_approver(rules: ApprovalSettings, *, requested_by: str, by: str) -> None:
    """Raise ApprovalError (clear reason) unless ``by`` may approve a run requested by ``requested_by``."""
    raise NotReadyError("approval rules land with issue #6")


def approved_prs(rules: ApprovalSettings, *, requested_by: str, approvals: list[ApprovalRecord]) -> set[int]:
    """PR numbers covered by a valid, latest-decision approval from an authorized human."""
    raise NotReadyError("approval rules land with issue #6")
