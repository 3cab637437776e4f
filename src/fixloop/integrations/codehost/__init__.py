"""Code hosts: ``local`` (a bare git remote + PR records in the store) and ``github`` (PyGithub)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from fixloop.config import Settings
from fixloop.integrations.codehost.git import validate_branch_name
from fixloop.interfaces import CodeHost
from fixloop.paths import fixloop_home


def default_remote(repo: Path) -> Path:
    """``$FIXLOOP_HOME/remotes/<repo name>-<hash of its path>.git``: the local code host's remote when none is
    configured; one per checkout, so two checkouts named alike (``workspace``) never share a remote."""
    resolved = repo.resolve()
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", resolved.name).strip(".-") or "repo"
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:8]
    return fixloop_home() / "remotes" / f"{name}-{digest}.git"


def pr_branch_name(thread_id: str, category_id: str, *, prefix: str = "fixloop") -> str:
    """The fix branch of one category in one run, e.g. ``fixloop/3f2a9c1d/server-error-1``: the same
    inputs give the same name, which is what makes a re-run or resume find (and update) its PR."""
    parts = [_slug(prefix), _slug(thread_id)[:40], _slug(category_id)[:60]]
    return validate_branch_name("/".join(p for p in parts if p))


def _slug(text: str) -> str:
    return re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9_-]+", "-", text)).strip("-_").lower()


def build_codehost(settings: Settings, repo: Path) -> CodeHost:
    """The code host named by ``settings.codehost.backend`` for the target checkout ``repo``."""
    cfg = settings.codehost
    if cfg.backend == "github":
        from fixloop.integrations.codehost.github import GitHubCodeHost

        return GitHubCodeHost.from_settings(cfg, repo)
    from fixloop.integrations.codehost.local import LocalCodeHost

    remote = Path(cfg.remote).expanduser() if cfg.remote else default_remote(repo)
    if not remote.is_absolute():
        remote = repo / remote
    return LocalCodeHost(repo, remote, base_branch=cfg.base_branch)
