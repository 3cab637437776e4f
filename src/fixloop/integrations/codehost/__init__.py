"""Code hosts: ``local`` (a bare git remote + PR records in the store) and ``github`` (PyGithub)."""

from __future__ import annotations

import re
from pathlib import Path

from fixloop.config import Settings
from fixloop.interfaces import CodeHost
from fixloop.paths import fixloop_home


def default_remote(repo: Path) -> Path:
    """``$FIXLOOP_HOME/remotes/<repo name>.git``: the local code host's remote when none is configured."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", repo.resolve().name).strip(".-") or "repo"
    return fixloop_home() / "remotes" / f"{name}.git"


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
