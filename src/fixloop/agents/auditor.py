"""SSOT audit of a patch, independent of the fixer: deterministic checks first, then a model review.

Deterministic checks (``audit_checks`` for duplicates, ``audit_weakening`` for tests), each finding
named by its check: ``duplicate-definition``, ``duplicate-constant``, ``duplicate-config-key``, ``deleted-assertion``,
``added-skip``, ``weakened-test``, plus ``syntax-error`` and ``unreadable-patch``. With a model,
a review whose verdict is "fail" adds ``llm-review`` findings.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from fixloop.agents.audit_checks import duplicate_findings, parse
from fixloop.agents.audit_diff import FileChange, PatchReadError, is_test_path, read_patch, repo_files
from fixloop.agents.audit_index import RepoIndex
from fixloop.agents.audit_weakening import config_findings, skip_findings, weakened_findings
from fixloop.errors import ModelError
from fixloop.interfaces import ChatMessage, ChatModel
from fixloop.prompts import render
from fixloop.records import AuditFinding, AuditResult
from fixloop.tools.python_ast import parse_python

SYSTEM_PROMPT = "You are a strict, independent code reviewer. Answer only in the requested JSON schema."


class AuditReview(BaseModel):
    """The model's review of a patch (structured output)."""

    verdict: Literal["pass", "fail"]
    concerns: list[str] = Field(default_factory=list)
    summary: str = ""


def audit_patch(
    patch: str,
    repo: Path,
    *,
    model: ChatModel | None = None,
    root_cause: str = "",
    redact: Callable[[str], str] | None = None,
) -> AuditResult:
    """Fails on a duplicated definition/constant/helper/config key, a deleted assertion, an added
    skip/xfail, or a weakened test; ``repo`` is the tree the patch applies to (before the patch).

    ``redact`` masks secrets in the text sent to the model (pass the run's redactor).
    """
    try:
        changes = read_patch(patch, repo)
    except PatchReadError as exc:
        finding = AuditFinding(check="unreadable-patch", message=exc.message)
        return AuditResult(passed=False, findings=[finding])
    findings = deterministic_findings(changes, repo)
    result = AuditResult(passed=not findings, findings=findings)
    if model is not None:
        _llm_review(result, model, patch=patch, changes=changes, root_cause=root_cause, redact=redact)
    return result


def deterministic_findings(changes: list[FileChange], repo: Path) -> list[AuditFinding]:
    findings: list[AuditFinding] = []
    new_trees: dict[str, ast.Module] = {}
    old_trees: dict[str, ast.Module | None] = {}
    for change in changes:
        findings.extend(config_findings(change))
        if not change.path.endswith(".py"):
            continue
        old = parse(change.old_text, change.old_path) if change.old_path else None
        old_trees[change.path] = old if isinstance(old, ast.Module) else None
        if change.deleted:
            continue
        new = parse(change.new_text, change.path)
        if isinstance(new, AuditFinding):
            findings.append(new)
        else:
            new_trees[change.path] = new
    index = _post_patch_index(repo, changes, new_trees)
    for change in changes:
        if not change.path.endswith(".py"):
            continue
        new_tree = new_trees.get(change.path)
        old_tree = old_trees.get(change.path)
        if new_tree is not None:
            findings.extend(duplicate_findings(change, new_tree, old_tree, index))
            findings.extend(skip_findings(change, new_tree))
        findings.extend(weakened_findings(change, new_tree, old_tree))
    return _unique(findings)


def _post_patch_index(repo: Path, changes: list[FileChange], new_trees: dict[str, ast.Module]) -> RepoIndex:
    touched = {c.old_path for c in changes if c.old_path} | {c.path for c in changes}
    index = RepoIndex()
    for rel in repo_files(repo):
        if rel in touched:
            continue
        try:
            text = (repo / rel).read_text(encoding="utf-8", errors="replace")
            tree = parse_python(text, rel)
        except (SyntaxError, ValueError, OSError):
            continue
        index.add_module(tree, rel, test=is_test_path(rel), text=text)
    texts = {c.path: c.new_text for c in changes}
    for rel, tree in new_trees.items():
        index.add_module(tree, rel, test=is_test_path(rel), text=texts.get(rel, ""))
    return index


def _unique(findings: list[AuditFinding]) -> list[AuditFinding]:
    seen: set[tuple[str, str, int | None, str]] = set()
    out = []
    for f in findings:
        key = (f.check, f.file, f.line, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _llm_review(
    result: AuditResult,
    model: ChatModel,
    *,
    patch: str,
    changes: list[FileChange],
    root_cause: str,
    redact: Callable[[str], str] | None,
) -> None:
    clean = redact or (lambda text: text)
    prompt = render(
        "audit.md.j2",
        root_cause=clean(root_cause) or "(not given)",
        files=[c.path for c in changes],
        findings=result.findings,
        patch=clean(patch),
    )
    messages = [ChatMessage("system", SYSTEM_PROMPT), ChatMessage("user", prompt)]
    try:
        review = model.complete_json(messages, AuditReview, purpose="audit")
    except ModelError as exc:
        result.notes.append(f"LLM review unavailable ({model.name}): {exc.message}")
        return
    if not isinstance(review, AuditReview):
        review = AuditReview.model_validate(review.model_dump())
    result.reviewer = "deterministic+llm"
    result.notes.append(f"LLM review ({model.name}): {review.verdict}. {review.summary}".strip())
    if review.verdict == "fail":
        concerns = review.concerns or [review.summary or "the reviewer failed the patch without a reason"]
        result.findings.extend(AuditFinding(check="llm-review", message=c) for c in concerns)
        result.passed = False
