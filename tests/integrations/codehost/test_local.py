"""The local code host against a real bare git remote: open, re-open (idempotent), comment, merge."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixloop.config import Settings
from fixloop.errors import CodeHostError, UsageError
from fixloop.integrations.codehost import build_codehost, default_remote
from fixloop.integrations.codehost.local import LocalCodeHost
from fixloop.interfaces import CodeHost

from .conftest import FIX_BRANCH, FIX_PATCH, commit_fix, git


def host(repo: Path, tmp_path: Path) -> LocalCodeHost:
    return LocalCodeHost(repo, tmp_path / "remote.git")


def open_fix(h: LocalCodeHost, body: str = "five whys ...") -> int:
    pr = h.open_or_update_pr(
        branch=FIX_BRANCH, base="main", title="Fix handshake 500", body=body, category_id="server-error-1"
    )
    return pr.number


def test_build_codehost_defaults_to_a_bare_remote_under_fixloop_home(
    target_repo: Path, isolated_fixloop_home: Path
) -> None:
    h = build_codehost(Settings(), target_repo)
    assert isinstance(h, LocalCodeHost) and isinstance(h, CodeHost)
    assert h.remote == default_remote(target_repo)
    assert h.remote.parent == isolated_fixloop_home / "remotes" and h.remote.name.startswith("chatbackend-")
    assert git(h.remote, "rev-parse", "--is-bare-repository").strip() == "true"
    assert git(h.remote, "rev-parse", "main") == git(target_repo, "rev-parse", "main")


def test_open_pr_pushes_the_branch_and_records_the_pr(target_repo: Path, tmp_path: Path) -> None:
    sha = commit_fix(target_repo)
    h = host(target_repo, tmp_path)
    pr = h.open_or_update_pr(
        branch=FIX_BRANCH, base="main", title="Fix handshake 500", body="why 1 ... why 5", category_id="server-error-1"
    )
    assert pr.number == 1 and pr.state == "open" and pr.branch == FIX_BRANCH and pr.base == "main"
    assert pr.head_sha == sha
    assert git(h.remote, "rev-parse", f"refs/heads/{FIX_BRANCH}").strip() == sha
    assert h.find_pr(FIX_BRANCH) == pr
    assert h.get_pr(1).body == "why 1 ... why 5"
    assert h.find_pr("fixloop/other") is None


def test_reopening_is_idempotent_and_updates_the_same_pr(target_repo: Path, tmp_path: Path) -> None:
    commit_fix(target_repo)
    h = host(target_repo, tmp_path)
    first = open_fix(h, body="attempt 1")
    # A second attempt rewrites the branch (a rejected fix, retried); a resumed run re-opens.
    second_sha = commit_fix(target_repo, patch=FIX_PATCH.replace("101", "200"), message="Fix handshake, take 2")
    again = h.open_or_update_pr(
        branch=FIX_BRANCH, base="main", title="Fix handshake 500 (v2)", body="attempt 2", category_id="server-error-1"
    )
    assert again.number == first
    assert [p.number for p in h.list_prs()] == [first]
    assert h.get_pr(first).body == "attempt 2" and again.title == "Fix handshake 500 (v2)"
    assert again.head_sha == second_sha == git(h.remote, "rev-parse", f"refs/heads/{FIX_BRANCH}").strip()


def test_a_second_branch_gets_its_own_pr(target_repo: Path, tmp_path: Path) -> None:
    commit_fix(target_repo)
    commit_fix(target_repo, branch="fixloop/auth-1", patch=FIX_PATCH.replace("101", "401"))
    h = host(target_repo, tmp_path)
    a = open_fix(h)
    b = h.open_or_update_pr(branch="fixloop/auth-1", base="main", title="auth", body="b", category_id="auth-1").number
    assert (a, b) == (1, 2)


def test_comments_and_reviews_are_recorded_once(target_repo: Path, tmp_path: Path) -> None:
    commit_fix(target_repo)
    h = host(target_repo, tmp_path)
    n = open_fix(h)
    h.comment(n, "tests after the fix: 5 passed")
    h.comment(n, "tests after the fix: 5 passed")  # a resumed run posts it again
    h.review(n, body="approved by alice", event="APPROVE", by="alice")
    pr = h.get_pr(n)
    assert [c.body for c in pr.comments] == ["tests after the fix: 5 passed"]
    assert [(r.by, r.event) for r in pr.reviews] == [("alice", "APPROVE")]


def test_merge_makes_a_real_merge_commit_on_the_remote_base(target_repo: Path, tmp_path: Path) -> None:
    head = commit_fix(target_repo)
    h = host(target_repo, tmp_path)
    base_before = git(h.remote, "rev-parse", "main").strip()
    n = open_fix(h)
    merge_sha = h.merge(n, approved_by="alice")
    assert git(h.remote, "rev-parse", "main").strip() == merge_sha
    parents = git(h.remote, "rev-list", "--parents", "-n", "1", merge_sha).split()
    assert parents[1:] == [base_before, head]
    message = git(h.remote, "log", "-1", "--format=%B", merge_sha)
    assert f"Merge pull request #{n} from {FIX_BRANCH}" in message and "Approved-by: alice" in message
    assert git(h.remote, "show", f"{merge_sha}:server.py") == "def handshake_status():\n    return 101\n"
    pr = h.get_pr(n)
    assert (pr.state, pr.merge_sha, pr.merged_by) == ("merged", merge_sha, "alice")
    # The merge commit is fetched back into the target checkout (the deployer starts from it).
    assert git(target_repo, "rev-parse", "refs/remotes/fixloop/main").strip() == merge_sha
    found = h.find_pr(FIX_BRANCH)
    assert found is not None
    assert found.state == "merged"


def test_merging_twice_returns_the_same_sha_and_makes_no_second_commit(target_repo: Path, tmp_path: Path) -> None:
    commit_fix(target_repo)
    h = host(target_repo, tmp_path)
    n = open_fix(h)
    first = h.merge(n, approved_by="alice")
    assert h.merge(n, approved_by="alice") == first
    assert git(h.remote, "rev-list", "--count", "main").strip() == "3"  # init, fix, merge


def test_after_a_merge_the_same_branch_opens_a_new_pr(target_repo: Path, tmp_path: Path) -> None:
    commit_fix(target_repo)
    h = host(target_repo, tmp_path)
    n = open_fix(h)
    h.merge(n, approved_by="alice")
    commit_fix(target_repo, patch=FIX_PATCH.replace("101", "102"))
    assert open_fix(h) == n + 1


def test_conflicting_merge_is_a_clear_error_and_leaves_base_alone(target_repo: Path, tmp_path: Path) -> None:
    commit_fix(target_repo)
    commit_fix(target_repo, branch="fixloop/other", patch=FIX_PATCH.replace("101", "999"))
    h = host(target_repo, tmp_path)
    a = open_fix(h)
    b = h.open_or_update_pr(branch="fixloop/other", base="main", title="t", body="b", category_id="c").number
    h.merge(a, approved_by="alice")
    base = git(h.remote, "rev-parse", "main")
    with pytest.raises(CodeHostError, match=f"#{b} does not merge cleanly"):
        h.merge(b, approved_by="alice")
    assert git(h.remote, "rev-parse", "main") == base
    assert h.get_pr(b).state == "open"


def test_errors_are_clear(target_repo: Path, tmp_path: Path) -> None:
    h = host(target_repo, tmp_path)
    with pytest.raises(CodeHostError, match="finding branch 'fixloop/missing'"):
        h.open_or_update_pr(branch="fixloop/missing", base="main", title="t", body="b", category_id="c")
    with pytest.raises(UsageError, match="invalid branch name"):
        h.open_or_update_pr(branch="x; rm -rf /", base="main", title="t", body="b", category_id="c")
    with pytest.raises(CodeHostError, match="#7 does not exist"):
        h.comment(7, "hello")
    not_bare = tmp_path / "plain"
    not_bare.mkdir()
    git(not_bare, "init", "-q")
    with pytest.raises(CodeHostError, match="not a bare git repository"):
        LocalCodeHost(target_repo, not_bare)


def test_pr_branch_names_are_stable_and_safe() -> None:
    from fixloop.integrations.codehost import pr_branch_name

    assert pr_branch_name("3f2a9c1d", "server-error-1") == "fixloop/3f2a9c1d/server-error-1"
    assert pr_branch_name("3f2a9c1d", "server-error-1") == pr_branch_name("3f2a9c1d", "server-error-1")
    assert pr_branch_name("run 1; rm -rf /", "../auth..1") == "fixloop/run-1-rm-rf/auth-1"


def test_merge_refuses_a_head_that_moved_after_approval(target_repo: Path, tmp_path: Path) -> None:
    approved_head = commit_fix(target_repo)
    h = host(target_repo, tmp_path)
    n = open_fix(h)
    commit_fix(target_repo, patch=FIX_PATCH.replace("101", "666"))
    open_fix(h)  # a new attempt lands on the same PR after the approval
    base = git(h.remote, "rev-parse", "main")
    with pytest.raises(CodeHostError, match=f"#{n} changed since it was approved"):
        h.merge(n, approved_by="alice", expected_head=approved_head)
    assert git(h.remote, "rev-parse", "main") == base
    assert h.merge(n, approved_by="alice", expected_head=h.get_pr(n).head_sha)


def test_two_checkouts_with_the_same_name_get_their_own_remotes(tmp_path: Path) -> None:
    a, b = tmp_path / "one" / "workspace", tmp_path / "two" / "workspace"
    assert default_remote(a) != default_remote(b)
    assert default_remote(a) == default_remote(a)


def test_parallel_investigations_open_distinct_prs_without_losing_one(target_repo: Path, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    branches = [f"fixloop/cat-{i}" for i in range(4)]
    for i, branch in enumerate(branches):
        commit_fix(target_repo, branch=branch, patch=FIX_PATCH.replace("101", str(200 + i)))
    h = host(target_repo, tmp_path)

    def open_one(branch: str) -> int:
        return h.open_or_update_pr(branch=branch, base="main", title=branch, body="b", category_id=branch).number

    with ThreadPoolExecutor(max_workers=4) as pool:
        numbers = list(pool.map(open_one, branches))
    assert sorted(numbers) == [1, 2, 3, 4]
    assert sorted(p.head for p in h.list_prs()) == branches
