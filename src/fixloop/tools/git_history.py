"""Recent commits of a repository and the files they touched (``git log``), for localization and evidence."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from fixloop.tools.worktree import PatchError, parse_patch

MAX_FILES_PER_COMMIT = 40  # a commit touching more is a bulk import/reformat, not a focused change


@dataclass
class Commit:
    sha: str
    author: str
    date: str
    subject: str
    files: list[str] = field(default_factory=list)
    root: bool = False  # no parent: the import of the whole tree


def _git(repo: Path, *args: str, timeout: float = 20) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def recent_commits(repo: Path, *, limit: int = 30) -> list[Commit]:
    """The last ``limit`` commits, newest first; [] when ``repo`` is not a git repository."""
    out = _git(
        repo, "log", f"-n{limit}", "--name-only", "--date=iso-strict", "--format=%x1e%H%x1f%P%x1f%an%x1f%ad%x1f%s"
    )
    if not out:
        return []
    commits = []
    for block in out.split("\x1e")[1:]:
        head, _, names = block.partition("\n")
        sha, parents, author, date, subject = (head.split("\x1f") + [""] * 5)[:5]
        files = [n.strip() for n in names.splitlines() if n.strip()]
        commits.append(
            Commit(sha=sha, author=author, date=date, subject=subject, files=files, root=not parents.strip())
        )
    return commits


def focused_commits(repo: Path, *, limit: int = 30) -> list[Commit]:
    """Recent commits that are focused changes (not the root import, not bulk commits)."""
    return [c for c in recent_commits(repo, limit=limit) if not c.root and len(c.files) <= MAX_FILES_PER_COMMIT]


def commit_diff(repo: Path, sha: str, path: str, *, max_chars: int = 1500) -> str:
    """The diff ``sha`` made to ``path`` (trimmed), or '' when unavailable."""
    out = _git(repo, "show", "--format=", "--unified=2", sha, "--", path)
    if not out:
        return ""
    return out if len(out) <= max_chars else out[:max_chars] + "\n... (diff trimmed)"


@dataclass
class Change:
    """What one commit changed in one file: the touched line spans (new file) and the changed lines."""

    spans: list[tuple[int, int]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def commit_change(repo: Path, sha: str, path: str) -> Change:
    """The hunks ``sha`` made to ``path`` (no context lines); empty when unavailable."""
    out = _git(repo, "show", "--format=", "--unified=0", sha, "--", path)
    change = Change()
    if not out:
        return change
    try:
        parsed = parse_patch(out)
    except PatchError:
        return change
    for patched in parsed:
        for hunk in patched:
            start = hunk.target_start
            change.spans.append((start, start + max(hunk.target_length, 1) - 1))
            change.lines += [str(line.value).strip() for line in hunk if line.is_added or line.is_removed]
    return change
