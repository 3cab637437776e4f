"""Read a patch for the audit: every touched file before and after, with the lines added and removed.

The patch is parsed with ``unidiff`` (which files, renames, deletions) and applied with ``git apply``
to a scratch copy of the touched files, so the audit sees the exact post-patch text that git would
produce; the added/removed line numbers then come from ``difflib`` on the two texts, which is right
even when the patch's hunk headers are off (model-written patches often are).
"""

from __future__ import annotations

import difflib
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from fixloop.errors import FixloopError
from fixloop.integrations.codehost.git import run_git
from fixloop.tools.worktree import PatchError, git_apply, parse_patch, strip_diff_prefix

IGNORED_DIRS = {
    ".git",
    ".venv",
    "venv",
    "env",
    "node_modules",
    "__pycache__",
    "site-packages",
    ".tox",
    ".nox",
    "build",
    "dist",
    ".fixloop",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
}


class PatchReadError(FixloopError):
    """The patch cannot be parsed or does not apply to the audited tree."""


@dataclass
class FileChange:
    path: str  # post-patch path (pre-patch path for a deleted file)
    old_path: str | None  # None: the patch adds the file
    old_text: str  # "" for an added file
    new_text: str  # "" for a deleted file
    deleted: bool = False
    added: dict[int, str] = field(default_factory=dict)  # new line number -> text
    removed: dict[int, str] = field(default_factory=dict)  # old line number -> text


def is_test_path(path: str) -> bool:
    p = PurePosixPath(path)
    name = p.name
    return (
        any(part in ("tests", "test", "testing") for part in p.parts[:-1])
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def read_patch(patch: str, repo: Path) -> list[FileChange]:
    """Every file the patch touches, before and after; PatchReadError when it does not parse or apply."""
    try:
        parsed = parse_patch(patch)
    except PatchError as exc:
        raise PatchReadError(exc.message) from None
    changes: list[FileChange] = []
    with tempfile.TemporaryDirectory(prefix="fixloop-audit-") as scratch_dir:
        scratch = Path(scratch_dir)
        run_git(["init", "-q"], scratch, error=PatchReadError)
        for patched in parsed:
            old = None if patched.is_added_file else strip_diff_prefix(patched.source_file)
            new = strip_diff_prefix(patched.source_file if patched.is_removed_file else patched.target_file)
            for rel in (old, new):
                if rel is not None and (
                    PurePosixPath(rel).is_absolute() or {"..", ".git"} & set(PurePosixPath(rel).parts)
                ):
                    raise PatchReadError(f"the patch names a path outside the repository: {rel!r}")
            old_text = _read(repo, old) if old else ""
            if old:
                (scratch / old).parent.mkdir(parents=True, exist_ok=True)
                (scratch / old).write_text(old_text, encoding="utf-8")
            changes.append(
                FileChange(
                    path=new, old_path=old, old_text=old_text, new_text="", deleted=bool(patched.is_removed_file)
                )
            )
        git_apply(scratch, patch, error=PatchReadError, what="applying the patch to the audited tree")
        for change in changes:
            if not change.deleted:
                change.new_text = (scratch / change.path).read_text(encoding="utf-8", errors="replace")
            change.added, change.removed = _line_changes(change.old_text, change.new_text)
    return changes


def _read(repo: Path, rel: str) -> str:
    path = repo / rel
    if not path.is_file():
        raise PatchReadError(f"the patch changes {rel}, which does not exist in {repo}")
    return path.read_text(encoding="utf-8", errors="replace")


def _line_changes(old: str, new: str) -> tuple[dict[int, str], dict[int, str]]:
    old_lines, new_lines = old.splitlines(), new.splitlines()
    added: dict[int, str] = {}
    removed: dict[int, str] = {}
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            removed.update({i + 1: old_lines[i] for i in range(i1, i2)})
        if tag in ("replace", "insert"):
            added.update({j + 1: new_lines[j] for j in range(j1, j2)})
    return added, removed


def repo_files(repo: Path, suffixes: tuple[str, ...] = (".py",)) -> list[str]:
    """Repo-relative paths of the source files to scan: git's tracked and untracked-but-not-ignored
    files when ``repo`` is a git checkout, otherwise a walk that skips virtualenvs and caches."""
    if (repo / ".git").exists():
        try:
            out = subprocess.run(
                ["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            ).stdout
            listed = [p for p in out.split("\0") if p.endswith(suffixes)]
            return [p for p in listed if not IGNORED_DIRS.intersection(PurePosixPath(p).parts)]
        except (OSError, subprocess.SubprocessError):
            pass
    found: list[str] = []
    for path in repo.rglob("*"):
        rel = path.relative_to(repo)
        if path.suffix in suffixes and path.is_file() and not IGNORED_DIRS.intersection(rel.parts):
            found.append(rel.as_posix())
    return sorted(found)
