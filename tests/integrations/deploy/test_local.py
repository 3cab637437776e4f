"""The local deployer with the real example target: fix on a branch, merge on the local code host,
restart the target from the merge commit and wait for /health to report it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fixloop.config import DeploySettings, load_settings
from fixloop.integrations.codehost.git import run_git
from fixloop.integrations.codehost.local import LocalCodeHost
from fixloop.integrations.deploy import build_deployer
from fixloop.integrations.deploy.local import LocalDeployer
from fixloop.interfaces import Deployer
from fixloop.scenarios import load_scenario, prepare_workspace
from fixloop.target import start_target, stop_target, target_status, test_env
from fixloop.tools.worktree import apply_patch, commit_all, create_worktree, remove_worktree

pytestmark = pytest.mark.slow


@pytest.fixture
def running_target(tmp_path: Path) -> Iterator[Path]:
    repo = prepare_workspace(tmp_path / "ws", load_scenario("handshake-500"))
    start_target(repo)
    yield repo
    stop_target(repo)


def head(repo: Path) -> str:
    return run_git(["rev-parse", "HEAD"], repo).strip()


def merged_fix(repo: Path, tmp_path: Path, patch: str) -> str:
    wt = create_worktree(repo, "fixloop/server-error-1", tmp_path / "wt")
    apply_patch(wt, patch)
    commit_all(wt, "Read the user from the 'sub' claim")
    remove_worktree(repo, wt)
    host = LocalCodeHost(repo, tmp_path / "remote.git")
    pr = host.open_or_update_pr(
        branch="fixloop/server-error-1", base="main", title="Fix handshake 500", body="b", category_id="server-error-1"
    )
    return host.merge(pr.number, approved_by="alice")


def test_deploy_restarts_the_target_from_the_merge_commit(running_target: Path, tmp_path: Path) -> None:
    repo = running_target
    before = target_status(repo)
    assert before is not None and before.running
    secret_before = test_env(repo)["CHAT_JWT_SECRET"]
    merge_sha = merged_fix(repo, tmp_path, load_scenario("handshake-500").gold_patch.read_text())
    assert head(repo) != merge_sha

    deployer = build_deployer(load_settings(repo), repo)
    assert isinstance(deployer, LocalDeployer) and isinstance(deployer, Deployer)
    record = deployer.deploy(merge_sha)

    assert record.outcome == "healthy", record.output
    assert record.revision == merge_sha and record.healthy_at is not None
    after = target_status(repo)
    assert after is not None and after.running and after.pid != before.pid
    assert after.port == before.port  # same URL for the tests
    assert test_env(repo)["CHAT_JWT_SECRET"] == secret_before  # the tests' tokens stay valid
    health = httpx.get(f"{after.http_url}/health", timeout=5).json()
    assert health["revision"] == merge_sha and health["status"] == "ok"
    assert head(repo) == merge_sha  # main fast-forwarded: tests and the next fix start from the merge
    assert run_git(["symbolic-ref", "--short", "HEAD"], repo).strip() == "main"
    assert "fast-forwarded" in record.output and "stopped the target" in record.output

    again = deployer.deploy(merge_sha)  # a resumed run deploys the same commit again: still healthy
    assert again.outcome == "healthy" and "already at" in again.output


def test_a_revision_that_does_not_start_ends_unhealthy(running_target: Path, tmp_path: Path) -> None:
    repo = running_target
    # The missing-env fault makes the service exit at startup: deploy it as if it were a fix.
    broken = merged_fix(repo, tmp_path, load_scenario("missing-env").fault_patch.read_text())
    settings = load_settings(repo).model_copy(update={"deploy": DeploySettings(health_timeout=2, poll_interval=0.1)})
    record = LocalDeployer(repo, settings).deploy(broken)
    assert record.outcome == "unhealthy"
    assert record.healthy_at is None
    assert "exited with code" in record.output


def test_unknown_commit_and_dirty_checkout_fail_clearly(running_target: Path) -> None:
    repo = running_target
    deployer = LocalDeployer(repo, load_settings(repo))
    record = deployer.deploy("f" * 40)
    assert record.outcome == "failed" and "is not in" in record.output
    (repo / "chatbackend" / "server.py").write_text("# local edit\n")
    record = deployer.deploy(head(repo))
    assert record.outcome == "failed" and "uncommitted changes" in record.output
    status = target_status(repo)
    assert status is not None and status.running  # a refused deploy leaves the running target alone
