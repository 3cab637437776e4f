"""Isolated git worktrees of the target: apply a patch, commit it on a branch, clean up."""

from __future__ import annotations

import re
import shutil
from pathlib import Path, PurePosixPath

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from fixloop.errors import FixloopError
from fixloop.integrations.codehost.git import run_git, validate_branch_name


class WorktreeError(FixloopError):
    """A worktree could not be created, committed in or removed."""


class PatchError(FixloopError):
    """A patch is empty, malformed or does not apply to the worktree."""


def create_worktree(repo: Path, branch: str, dest: Path, *, base: str = "HEAD") -> Path:
    """A new worktree of ``repo`` at ``dest`` on a new (or reset) ``branch`` from ``base``.

    Re-creating a worktree at the same ``dest`` (a resumed run) replaces the old one.
    """
    validate_branch_name(branch)
    repo, dest = repo.resolve(), dest.resolve()
    if not (repo / ".git").exists():
        raise WorktreeError(f"{repo} is not a git repository", hint="the target must be a git checkout")
    run_git(["worktree", "prune"], repo, error=WorktreeError)
    if dest.exists():
        if dest in _registered_worktrees(repo):
            run_git(["worktree", "remove", "--force", str(dest)], repo, error=WorktreeError)
        elif any(dest.iterdir()):
            raise WorktreeError(f"cannot create a worktree at {dest}: the folder exists and is not empty")
    base_sha = run_git(["rev-parse", "--verify", f"{base}^{{commit}}"], repo, error=WorktreeError).strip()
    run_git(["worktree", "add", "--force", "-B", branch, str(dest), base_sha], repo, error=WorktreeError)
    return dest


def apply_patch(worktree: Path, patch: str) -> list[str]:
    """Apply a unified diff (``git apply``); return the files touched; PatchError with git's reason."""
    files = patch_files(patch)
    git_apply(worktree, patch, error=PatchError)
    return files


def git_apply(cwd: Path, patch: str, *, error: type[FixloopError] = PatchError, what: str = "patch check") -> None:
    """``git apply`` in ``cwd``, checked first: the patch as given, else with its hunk headers recounted
    (model-written patches often get the line counts wrong); the first failure's reason is reported."""
    candidates = list(dict.fromkeys([_with_newline(patch), normalize_patch(patch)]))
    first_failure: FixloopError | None = None
    for text in candidates:
        try:
            run_git(["apply", "--whitespace=nowarn", "--check", "-"], cwd, error=error, stdin=text, what=what)
        except FixloopError as exc:
            first_failure = first_failure or exc
            continue
        run_git(["apply", "--whitespace=nowarn", "-"], cwd, error=error, stdin=text, what="git apply")
        return
    assert first_failure is not None
    raise first_failure


_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$", re.S)


def normalize_patch(patch: str) -> str:
    """The patch with every hunk header's line counts recomputed from the hunk's lines.

    A hunk ends at the next hunk, at the next file's ``diff --git`` or ``---``/``+++`` header, or at a
    line that is not part of a diff; blank lines ending a hunk are dropped (editors add them).
    """
    lines = _with_newline(patch).splitlines(keepends=True)
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _HUNK.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not _ends_hunk(lines, j):
            body.append(lines[j])
            j += 1
        while body and not body[-1].strip():
            body.pop()
        old = sum(1 for line in body if line[:1] in (" ", "-") or not line.strip())
        new = sum(1 for line in body if line[:1] in (" ", "+") or not line.strip())
        old_start, new_start, rest = match.group(1), match.group(2), match.group(3)
        out.append(f"@@ -{old_start},{old} +{new_start},{new} @@{rest}")
        out.extend(line if line.strip() or line[:1] == " " else " " + line for line in body)
        i = j
    return "".join(out)


def _ends_hunk(lines: list[str], j: int) -> bool:
    line = lines[j]
    if line.startswith(("@@", "diff --git")):
        return True
    if line.startswith("--- ") and j + 1 < len(lines) and lines[j + 1].startswith("+++ "):
        return True
    return not (line[:1] in (" ", "+", "-", "\\") or not line.strip())


def _with_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def parse_patch(patch: str) -> PatchSet:
    """The parsed unified diff (hunk counts normalized); PatchError when it is empty or not a diff."""
    if not patch.strip():
        raise PatchError("the patch is empty")
    try:
        parsed = PatchSet(normalize_patch(patch))
    except UnidiffParseError as exc:
        raise PatchError(f"the patch is not a valid unified diff: {exc}") from None
    if not len(parsed):
        raise PatchError("the patch is not a unified diff: it names no file")
    return parsed


def patch_files(patch: str) -> list[str]:
    """The repo-relative paths a unified diff touches (new path, or old path for a deletion)."""
    parsed = parse_patch(patch)
    files: list[str] = []
    for patched in parsed:
        path = strip_diff_prefix(patched.source_file if patched.is_removed_file else patched.target_file)
        for name in (strip_diff_prefix(patched.source_file), strip_diff_prefix(patched.target_file)):
            parts = PurePosixPath(name).parts
            if name != "/dev/null" and (PurePosixPath(name).is_absolute() or ".." in parts or ".git" in parts):
                raise PatchError(f"the patch touches {name!r}, outside the repository's files")
        files.append(path)
    return files


def strip_diff_prefix(path: str) -> str:
    return path[2:] if path.startswith(("a/", "b/")) else path


def commit_all(worktree: Path, message: str, *, allow_empty: bool = False) -> str:
    """Commit everything in ``worktree``; return the sha. Nothing to commit is an error unless allowed."""
    if not message.strip():
        raise WorktreeError("a commit message is required")
    run_git(["add", "-A"], worktree, error=WorktreeError)
    staged = run_git(["status", "--porcelain"], worktree, error=WorktreeError).strip()
    if not staged and not allow_empty:
        raise WorktreeError(f"nothing to commit in {worktree}", hint="did the patch change anything?")
    args = ["commit", "--no-verify", "-q", "-F", "-"] + (["--allow-empty"] if allow_empty else [])
    run_git(args, worktree, error=WorktreeError, stdin=message)
    return run_git(["rev-parse", "HEAD"], worktree, error=WorktreeError).strip()


def remove_worktree(repo: Path, worktree: Path) -> None:
    """Remove ``worktree`` from ``repo`` (its branch stays); a missing worktree is not an error."""
    repo, worktree = repo.resolve(), worktree.resolve()
    if worktree in _registered_worktrees(repo):
        run_git(["worktree", "remove", "--force", str(worktree)], repo, error=WorktreeError)
    elif worktree.exists() and (worktree / ".git").is_file():
        shutil.rmtree(worktree)
    run_git(["worktree", "prune"], repo, error=WorktreeError)


def _registered_worktrees(repo: Path) -> set[Path]:
    out = run_git(["worktree", "list", "--porcelain"], repo, error=WorktreeError)
    return {Path(line[len("worktree ") :]).resolve() for line in out.splitlines() if line.startswith("worktree ")}
