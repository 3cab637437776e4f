"""Deployers: ``local`` (restart the example target from a commit) and ``command`` (an argv)."""

from __future__ import annotations

from pathlib import Path

from fixloop.config import Settings
from fixloop.interfaces import Deployer


def build_deployer(settings: Settings, repo: Path) -> Deployer:
    """The deployer named by ``settings.deploy.backend`` for the target checkout ``repo``."""
    cfg = settings.deploy
    if cfg.backend == "command":
        from fixloop.integrations.deploy.command import CommandDeployer

        return CommandDeployer(
            cfg.command,
            health_url=settings.target.http_url.rstrip("/") + settings.target.health_path,
            cwd=repo,
            health_timeout=cfg.health_timeout,
            poll_interval=cfg.poll_interval,
        )
    from fixloop.integrations.deploy.local import LocalDeployer

    return LocalDeployer(repo, settings)
