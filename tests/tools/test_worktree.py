"""Worktrees with real git: create, apply a patch, commit, remove; bad input gives clear errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fixloop.errors import UsageError
from fixloop.tools.worktree import (
    PatchError,
    WorktreeError,
    apply_patch,
    commit_all,
    create_worktree,
    remove_worktree,
)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "app.py").write_text('EVENT = "agent_thinking"\n\n\ndef handler():\n    return 500\n')
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    return root


FIX = (
    "diff --git a/app.py b/app.py\n"
    "--- a/app.py\n"
    "+++ b/app.py\n"
    '@@ -3,3 +3,3 @@ EVENT = "agent_thinking"\n'
    " \n"
    " def handler():\n"
    "-    return 500\n"
    "+    return 200\n"
)


def test_apply_and_commit_in_an_isolated_worktree(repo: Path, tmp_path: Path) -> None:
    wt = create_worktree(repo, "fixloop/server-error-1", tmp_path / "wt")
    assert apply_patch(wt, FIX) == ["app.py"]
    sha = commit_all(wt, "Fix handler status")
    assert "return 200" in (wt / "app.py").read_text()
    assert "return 500" in (repo / "app.py").read_text()  # the main checkout is untouched
    assert git(repo, "rev-parse", "fixloop/server-error-1").strip() == sha
    assert git(repo, "log", "-1", "--format=%s", sha).strip() == "Fix handler status"
    remove_worktree(repo, wt)
    assert not wt.exists()
    assert str(wt) not in git(repo, "worktree", "list")
    assert git(repo, "rev-parse", "fixloop/server-error-1").strip() == sha  # the branch stays


def test_recreating_a_worktree_resets_the_branch(repo: Path, tmp_path: Path) -> None:
    wt = create_worktree(repo, "fixloop/a", tmp_path / "wt")
    apply_patch(wt, FIX)
    commit_all(wt, "first attempt")
    again = create_worktree(repo, "fixloop/a", tmp_path / "wt")
    assert "return 500" in (again / "app.py").read_text()
    assert git(repo, "rev-parse", "fixloop/a") == git(repo, "rev-parse", "main")


def test_patch_that_does_not_apply_raises_patch_error_with_gits_reason(repo: Path, tmp_path: Path) -> None:
    wt = create_worktree(repo, "fixloop/b", tmp_path / "wt")
    stale = FIX.replace("return 500", "return 404")
    with pytest.raises(PatchError, match=r"patch check failed.*app\.py"):
        apply_patch(wt, stale)
    assert "return 500" in (wt / "app.py").read_text()


@pytest.mark.parametrize("bad", ["", "not a diff at all\n"])
def test_empty_or_garbage_patch_raises_patch_error(repo: Path, tmp_path: Path, bad: str) -> None:
    wt = create_worktree(repo, "fixloop/c", tmp_path / "wt")
    with pytest.raises(PatchError):
        apply_patch(wt, bad)


def test_nothing_to_commit_is_an_error(repo: Path, tmp_path: Path) -> None:
    wt = create_worktree(repo, "fixloop/d", tmp_path / "wt")
    with pytest.raises(WorktreeError, match="nothing to commit"):
        commit_all(wt, "empty")


@pytest.mark.parametrize(
    "branch", ["", "a..b", "-x", "x;rm -rf /", "a b", "$(id)", "x/", "/x", "a//b", "x.lock", ".hidden", "HEAD", "a`b`"]
)
def test_unsafe_branch_names_are_refused(repo: Path, tmp_path: Path, branch: str) -> None:
    with pytest.raises(UsageError, match="invalid branch name"):
        create_worktree(repo, branch, tmp_path / "wt")
    assert not (tmp_path / "wt").exists()


def test_not_a_git_repository(tmp_path: Path) -> None:
    with pytest.raises(WorktreeError, match="not a git repository"):
        create_worktree(tmp_path, "fixloop/x", tmp_path / "wt")


def test_non_empty_destination_is_refused(repo: Path, tmp_path: Path) -> None:
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(WorktreeError, match="not empty"):
        create_worktree(repo, "fixloop/e", dest)
    assert (dest / "keep.txt").read_text() == "mine"


def test_removing_a_missing_worktree_is_a_no_op(repo: Path, tmp_path: Path) -> None:
    remove_worktree(repo, tmp_path / "never-created")


def test_patch_with_wrong_hunk_counts_still_applies(repo: Path, tmp_path: Path) -> None:
    wt = create_worktree(repo, "fixloop/f", tmp_path / "wt")
    off_by_one = FIX.replace("@@ -3,3 +3,3 @@", "@@ -3,4 +3,5 @@")  # a typical model-written header
    apply_patch(wt, off_by_one)
    assert "return 200" in (wt / "app.py").read_text()


def test_multi_file_patch_without_git_headers_applies(repo: Path, tmp_path: Path) -> None:
    wt = create_worktree(repo, "fixloop/g", tmp_path / "wt")
    new_file = "--- /dev/null\n+++ b/notes.txt\n@@ -0,0 +1 @@\n+fixed\n"
    assert apply_patch(wt, FIX.split("\n", 1)[1] + new_file) == ["app.py", "notes.txt"]
    assert (wt / "notes.txt").read_text() == "fixed\n"


@pytest.mark.parametrize("path", ["../evil.py", ".git/hooks/post-commit"])
def test_patch_outside_the_worktree_is_refused(repo: Path, tmp_path: Path, path: str) -> None:
    wt = create_worktree(repo, "fixloop/h", tmp_path / "wt")
    evil = f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n+import os\n"
    with pytest.raises(PatchError, match="outside the repository's files"):
        apply_patch(wt, evil)
    assert not (tmp_path / "evil.py").exists()
    assert not (repo / ".git" / "hooks" / "post-commit").exists()
