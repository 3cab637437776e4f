"""Recent commits of a repository and the files they touched (``git log``), for localization and evidence."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

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
