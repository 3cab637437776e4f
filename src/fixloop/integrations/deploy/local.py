"""Deploy the example target locally: stop it, move its checkout to the merged commit, start it
again on the same port with the same token secret, and wait for /health to report that commit."""

from __future__ import annotations

from pathlib import Path

from fixloop import target
from fixloop.config import Settings
from fixloop.errors import DeployError, FixloopError, TargetError
from fixloop.integrations.codehost.git import run_git
from fixloop.integrations.deploy.health import wait_healthy
from fixloop.records import DeployRecord, utc_now


class LocalDeployer:
    name = "local"

    def __init__(self, repo: Path, settings: Settings) -> None:
        self.repo = repo.resolve()
        self.settings = settings

    def deploy(self, revision: str) -> DeployRecord:
        """Restart the target from ``revision`` and wait until healthy at it (or record why not)."""
        started = utc_now()
        steps: list[str] = []
        try:
            commit = self._checkout(revision, steps)
        except FixloopError as exc:
            steps.append(exc.one_line())
            return DeployRecord(revision=revision, started=started, outcome="failed", output="\n".join(steps))
        try:
            info = self._restart(steps)
        except TargetError as exc:  # the new revision does not come up
            steps.append(exc.one_line())
            return DeployRecord(revision=commit, started=started, outcome="unhealthy", output="\n".join(steps))
        except FixloopError as exc:
            steps.append(exc.one_line())
            return DeployRecord(revision=commit, started=started, outcome="failed", output="\n".join(steps))
        url = info.http_url + self.settings.target.health_path
        cfg = self.settings.deploy
        wait = wait_healthy(url, commit, timeout=cfg.health_timeout, poll_interval=cfg.poll_interval)
        steps.append(wait.last)
        if wait.healthy_at is None:
            steps.append(f"not healthy after {cfg.health_timeout:g} s ({wait.polls} polls)")
            return DeployRecord(revision=commit, started=started, outcome="unhealthy", output="\n".join(steps))
        return DeployRecord(
            revision=commit, started=started, healthy_at=wait.healthy_at, outcome="healthy", output="\n".join(steps)
        )

    def _git(self, args: list[str]) -> str:
        return run_git(args, self.repo, error=DeployError)

    def _checkout(self, revision: str, steps: list[str]) -> str:
        try:
            commit = self._git(["rev-parse", "--verify", "-q", f"{revision}^{{commit}}"]).strip()
        except DeployError:
            raise DeployError(f"commit {revision!r} is not in {self.repo}", hint="was the merge fetched?") from None
        if self._git(["status", "--porcelain", "--untracked-files=no"]).strip():
            raise DeployError(f"{self.repo} has uncommitted changes; not moving it to {commit[:12]}")
        head = self._git(["rev-parse", "HEAD"]).strip()
        if head == commit:
            steps.append(f"checkout already at {commit[:12]}")
            return commit
        try:
            self._git(["merge-base", "--is-ancestor", "HEAD", commit])
            fast_forward = bool(self._git(["symbolic-ref", "-q", "--short", "HEAD"]).strip())
        except DeployError:
            fast_forward = False
        if fast_forward:
            self._git(["merge", "--ff-only", "-q", commit])
            steps.append(f"fast-forwarded {self.repo.name} from {head[:12]} to {commit[:12]}")
        else:
            self._git(["checkout", "-q", "--detach", commit])
            steps.append(f"checked out {commit[:12]} (detached) in {self.repo.name}")
        return commit

    def _restart(self, steps: list[str]) -> target.TargetInfo:
        before = target.target_status(self.repo)
        env = target.test_env(self.repo)
        secret_name = self.settings.target.token_secret_env
        keep = {secret_name: env[secret_name]} if secret_name in env else {}
        port = before.port if before is not None and before.running else None
        if target.stop_target(self.repo):
            steps.append(f"stopped the target (pid {before.pid if before else '?'})")
        info = target.start_target(self.repo, port=port, env=keep)
        steps.append(f"started the target (pid {info.pid}) on {info.http_url} at {info.revision[:12]}")
        return info
