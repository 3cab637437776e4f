"""Run git as a subprocess (argv lists only, never a shell) and validate branch names."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from fixloop.errors import FixloopError, UsageError

GIT_TIMEOUT = 120.0
# Env vars that would make git act on another repository than the one we name with -C.
_GIT_LOCATION_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR")
_BRANCH_CHARS = re.compile(r"^[A-Za-z0-9._/-]+$")
FALLBACK_IDENTITY = ("fixloop", "fixloop@localhost")


def git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARS}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.setdefault("GIT_AUTHOR_NAME", FALLBACK_IDENTITY[0])
    env.setdefault("GIT_AUTHOR_EMAIL", FALLBACK_IDENTITY[1])
    env.setdefault("GIT_COMMITTER_NAME", FALLBACK_IDENTITY[0])
    env.setdefault("GIT_COMMITTER_EMAIL", FALLBACK_IDENTITY[1])
    return env


def run_git(
    args: list[str],
    cwd: Path,
    *,
    error: type[FixloopError] = FixloopError,
    stdin: str | None = None,
    what: str | None = None,
) -> str:
    """Run ``git -C cwd ARGS``; return stdout; raise ``error`` with git's own reason on failure."""
    argv = ["git", "-C", str(cwd), *args]
    try:
        proc = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            env=git_env(),
            check=False,
        )
    except FileNotFoundError:
        raise error("git is not installed or not on PATH") from None
    except subprocess.TimeoutExpired:
        raise error(f"git {args[0]} timed out after {GIT_TIMEOUT:.0f}s in {cwd}") from None
    if proc.returncode != 0:
        reason = (proc.stderr.strip() or proc.stdout.strip() or f"exit code {proc.returncode}").splitlines()
        short = "; ".join(line.strip() for line in reason[:3])
        raise error(f"{what or 'git ' + args[0]} failed in {cwd}: {short}")
    return proc.stdout


def run_git_bytes(args: list[str], cwd: Path, *, error: type[FixloopError] = FixloopError) -> bytes:
    """Like ``run_git`` for binary output (file contents)."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(cwd), *args], capture_output=True, timeout=GIT_TIMEOUT, env=git_env(), check=False
        )
    except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
        raise error(f"git {args[0]} could not run in {cwd}: {exc}") from None
    if proc.returncode != 0:
        reason = proc.stderr.decode(errors="replace").strip().splitlines()[:1]
        raise error(f"git {args[0]} failed in {cwd}: {reason[0] if reason else proc.returncode}")
    return proc.stdout


def validate_branch_name(branch: str) -> str:
    """Return ``branch`` if it is a safe git branch name, else raise ``UsageError`` saying why."""
    problem = _branch_problem(branch)
    if problem:
        raise UsageError(f"invalid branch name {branch!r}: {problem}")
    return branch


def _branch_problem(branch: str) -> str | None:
    if not branch:
        return "it is empty"
    if len(branch) > 200:
        return "it is longer than 200 characters"
    if not _BRANCH_CHARS.match(branch):
        return "only letters, digits and . _ / - are allowed"
    if ".." in branch:
        return "it contains '..'"
    if branch.startswith(("-", "/")) or branch.endswith(("/", ".")):
        return "it starts with '-' or '/', or ends with '/' or '.'"
    if "//" in branch:
        return "it contains '//'"
    if branch == "HEAD" or branch.startswith("refs/"):
        return "it names HEAD or a full ref"
    for part in branch.split("/"):
        if part.startswith(".") or part.endswith(".lock"):
            return "a path component starts with '.' or ends with '.lock'"
    return None
