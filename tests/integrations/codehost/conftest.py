"""A real target checkout with a fix committed on a branch (via fixloop's own worktree tools)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fixloop.tools.worktree import apply_patch, commit_all, create_worktree, remove_worktree

FIX_BRANCH = "fixloop/server-error-1"
FIX_PATCH = (
    "--- a/server.py\n+++ b/server.py\n@@ -1,2 +1,2 @@\n def handshake_status():\n-    return 500\n+    return 101\n"
)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def target_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "chatbackend"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "server.py").write_text("def handshake_status():\n    return 500\n")
    (repo / "README.md").write_text("chat backend\n")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    return repo


def commit_fix(repo: Path, branch: str = FIX_BRANCH, patch: str = FIX_PATCH, message: str = "Fix handshake") -> str:
    wt = create_worktree(repo, branch, repo.parent / f"wt-{branch.replace('/', '-')}")
    apply_patch(wt, patch)
    sha = commit_all(wt, message)
    remove_worktree(repo, wt)
    return sha
