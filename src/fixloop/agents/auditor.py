"""SSOT audit of a patch, independent of the fixer: deterministic checks first, then a model review."""

from __future__ import annotations

from pathlib import Path

from fixloop.errors import NotReadyError
from fixloop.interfaces import ChatModel
from fixloop.records import AuditResult


def audit_patch(patch: str, repo: Path, *, model: ChatModel | None = None) -> AuditResult:
    """Fails on a duplicated definition/constant/helper/config key, a deleted assertion, an added
    skip/xfail, or a weakened test; ``repo`` is the tree the patch applies to (before the patch)."""
    raise NotReadyError("the SSOT audit lands with issue #5")
