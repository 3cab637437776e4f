"""Propose a fix as a unified diff, from the chain, the evidence and any feedback.

The model answers ``{summary, patch, files}``; the patch must be a well-formed diff that changes only
existing files inside the repository and that ``git apply --check`` accepts. Otherwise the model is
asked again with the reason (git's own words), up to ``max_attempts``; then ``ModelError``.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, Field

from fixloop.agents.code_context import code_context
from fixloop.agents.model_messages import Redact, message, redactor_or_default
from fixloop.config import LLMSettings
from fixloop.errors import ModelError
from fixloop.interfaces import ChatModel
from fixloop.prompts import render
from fixloop.records import Category, EvidenceBundle, EvidenceItem, FiveWhys, FixProposal

PURPOSE = "fix"
CONTEXT_TOKENS: int = LLMSettings.model_fields["fix_context_tokens"].default  # the source excerpts' budget
_HEADER_PATH = re.compile(r"^(?:---|\+\+\+) (?P<path>[^\t\n]+)", re.M)


class FixReply(BaseModel):
    """What the model must answer."""

    summary: str = Field(min_length=1)
    patch: str = Field(min_length=1)
    files: list[str] = Field(default_factory=list)


def propose_fix(
    model: ChatModel,
    category: Category,
    bundle: EvidenceBundle,
    chain: FiveWhys,
    *,
    repo: Path,
    redact: Redact | None = None,
    feedback: str = "",
    attempt: int = 1,
    max_attempts: int = 3,
    context_tokens: int = CONTEXT_TOKENS,
) -> FixProposal:
    """A patch against ``repo``'s working tree; raises ModelError when the model gives none (caller degrades).

    ``redact`` masks secrets in everything sent to the model (default: a ``Redactor`` over the environment;
    the graph passes the run's); ``feedback`` is why an earlier fix failed
    (validation or audit); ``attempt`` is the caller's fix attempt number, recorded on the proposal.
    The prompt holds the evidence the chain cites (all of it when it cites none) and source excerpts
    of the fix location and the ranked locations within ``context_tokens`` (``code_context``), not whole files.
    """
    excerpts = code_context(repo, chain, bundle, context_tokens)
    prompt = render(
        "fix.md.j2",
        category=category,
        chain=chain,
        evidence=_cited_evidence(chain, bundle, excerpts),
        evidence_heading="Evidence the five whys cite",
        locations=[],  # the excerpts below show the ranked locations' code
        files=excerpts,
        attempt=attempt,
        feedback=feedback,
    )
    redact = redactor_or_default(redact)
    messages = [message("user", prompt, redact)]
    problem = ""
    for _ in range(max_attempts):
        reply = model.complete_json(messages, FixReply, purpose=PURPOSE)
        if not isinstance(reply, FixReply):
            raise ModelError(f"model {model.name} returned {type(reply).__name__}, not FixReply")
        patch = reply.patch if reply.patch.endswith("\n") else reply.patch + "\n"
        problem, files = check_patch(patch, repo)
        if not problem:
            return FixProposal(summary=reply.summary, patch=patch, files=files, attempt=attempt)
        messages += [
            message("assistant", reply.model_dump_json(), redact),
            message("user", f"The patch was rejected: {problem}\nSend a corrected patch.", redact),
        ]
    raise ModelError(
        f"model {model.name} gave no applicable patch for {category.id} in {max_attempts} tries: {problem}"
    )


def _cited_evidence(chain: FiveWhys, bundle: EvidenceBundle, files: list[dict[str, Any]]) -> list[EvidenceItem]:
    """The items the chain cites (all when it cites none), less the code snippets the excerpts already show."""
    cited = {eid for step in chain.steps for eid in step.evidence}
    items = [item for item in bundle.items if item.id in cited] or bundle.items
    shown = {(f["path"], n) for f in files for part in f["excerpts"] for n in range(part["start"], part["end"] + 1)}
    return [item for item in items if not (item.kind == "code" and _source_line(item.source) in shown)]


def _source_line(source: str) -> tuple[str, int] | None:
    path, _, line = source.rpartition(":")
    return (path, int(line)) if line.isdigit() else None


def check_patch(patch: str, repo: Path) -> tuple[str, list[str]]:
    """``("", files)`` when ``patch`` changes only existing files under ``repo`` and applies cleanly;
    otherwise ``(reason, [])``."""
    if "\n@@ " not in patch or not _HEADER_PATH.search(patch):
        return "not a unified diff: it needs ---/+++ file headers and @@ hunks", []
    for match in _HEADER_PATH.finditer(patch):
        raw = match.group("path").strip().strip('"')
        if raw == "/dev/null":
            return "the patch creates or deletes a file; change existing files only", []
        if raw.startswith("/") or ".." in PurePosixPath(raw).parts:
            return f"path {raw!r} is outside the repository; use a/<file> and b/<file> relative to its root", []
    listed = _git(repo, "apply", "--numstat", "-z", input_text=patch)
    if listed.returncode != 0:
        return f"git cannot read the patch: {_reason(listed)}", []
    files: list[str] = []
    for path in _numstat_paths(listed.stdout):
        problem = _path_problem(path, repo)
        if problem:
            return problem, []
        if path not in files:
            files.append(path)
    if not files:
        return "the patch changes no file", []
    checked = _git(repo, "apply", "--check", input_text=patch)
    if checked.returncode != 0:
        return f"git apply --check failed: {_reason(checked)}", []
    return "", files


def _path_problem(path: str, repo: Path) -> str:
    parts = PurePosixPath(path).parts
    if not parts or PurePosixPath(path).is_absolute() or ".." in parts:
        return f"path {path!r} is outside the repository"
    if parts[0] == ".git":
        return f"path {path!r} is inside .git"
    root = repo.resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root):
        return f"path {path!r} leaves the repository"
    if not target.is_file():
        return f"file {path!r} does not exist in the repository; change existing files only"
    return ""


def _numstat_paths(output: str) -> list[str]:
    """Paths from ``git apply --numstat -z``: ``A\\tD\\tpath\\0``, or ``A\\tD\\t\\0old\\0new\\0`` for renames."""
    fields = output.split("\0")
    paths: list[str] = []
    i = 0
    while i < len(fields):
        field = fields[i]
        if not field:
            i += 1
            continue
        _, _, path = field.split("\t", 2) if field.count("\t") >= 2 else ("", "", field)
        if path:
            paths.append(path)
            i += 1
        else:  # rename: old and new follow
            paths.extend(p for p in fields[i + 1 : i + 3] if p)
            i += 3
    return paths


def _git(repo: Path, *args: str, input_text: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args], cwd=repo, input=input_text, capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ModelError(f"cannot check the patch with git in {repo}: {exc}") from None


def _reason(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in (result.stderr or result.stdout).splitlines() if line.strip()]
    return "; ".join(lines[:5]) or f"git exited {result.returncode}"
