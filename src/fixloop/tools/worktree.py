"""Isolated git worktrees of the target: apply a patch, commit it on a branch, clean up."""

from __future__ import annotations

from pathlib import Path

from fixloop.errors import NotReadyError


def create_worktree(repo: Path, branch: str, dest: Path) -> Path:
    """A new worktree of ``repo`` at ``dest`` on a new (or reset) ``branch`` from HEAD."""
    raise NotReadyError("worktrees land with issue #6")


def apply_patch(worktree: Path, patch: str) -> list[str]:
    """Apply a unified diff (``git apply``); return the files touched; PatchError with git's reason."""
    raise NotReadyError("worktrees land with issue #6")


def commit_all(worktree: Path, message: str) -> str:
    """Commit everything in ``worktree``; return the sha."""
    raise NotReadyError("worktrees land with issue #6")


def remove_worktree(repo: Path, worktree: Path) -> None:
    raise NotReadyError("worktrees land with issue #6")
