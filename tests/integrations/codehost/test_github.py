"""The real PyGithub client against the local GitHub REST server: the exact requests for opening,
re-opening (idempotent), commenting, reviewing and merging a pull request."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from github import Auth, Github

from fixloop.config import CodeHostSettings, Settings
from fixloop.errors import CodeHostError, ConfigError
from fixloop.integrations.codehost import build_codehost
from fixloop.integrations.codehost.github import GitHubCodeHost
from fixloop.integrations.codehost.local_github_server import LocalGitHubServer
from fixloop.interfaces import CodeHost

from .conftest import FIX_BRANCH, FIX_PATCH, commit_fix

REPO = "/repos/acme/chatbackend"
FIXED = "def handshake_status():\n    return 101\n"


@pytest.fixture
def server() -> Iterator[LocalGitHubServer]:
    files = {"server.py": "def handshake_status():\n    return 500\n", "README.md": "chat backend\n"}
    with LocalGitHubServer("acme", "chatbackend", files, token="s3cret-token") as srv:
        yield srv


def make_host(repo: Path, server: LocalGitHubServer, token: str = "s3cret-token") -> GitHubCodeHost:
    # PyGithub throttles requests (0.25 s, writes 1 s) to respect GitHub's limits: not needed locally.
    client = Github(
        base_url=server.base_url,
        auth=Auth.Token(token),
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )
    return GitHubCodeHost(repo, "acme/chatbackend", client)


def open_pr(host: GitHubCodeHost, title: str = "Fix handshake 500", body: str = "five whys") -> int:
    return host.open_or_update_pr(
        branch=FIX_BRANCH, base="main", title=title, body=body, category_id="server-error-1"
    ).number


def test_open_pr_makes_exactly_these_requests(target_repo: Path, server: LocalGitHubServer) -> None:
    commit_fix(target_repo)
    host = make_host(target_repo, server)
    base_sha = server.repo.refs["heads/main"]
    pr = host.open_or_update_pr(
        branch=FIX_BRANCH, base="main", title="Fix handshake 500", body="why 1..5", category_id="server-error-1"
    )
    assert server.calls() == [
        ("GET", REPO),
        ("GET", f"{REPO}/git/ref/heads/main"),
        ("GET", f"{REPO}/git/commits/{base_sha}"),
        ("POST", f"{REPO}/git/blobs"),
        ("POST", f"{REPO}/git/trees"),
        ("GET", f"{REPO}/git/ref/heads/{FIX_BRANCH}"),
        ("POST", f"{REPO}/git/commits"),
        ("POST", f"{REPO}/git/refs"),
        ("GET", f"{REPO}/pulls"),
        ("POST", f"{REPO}/pulls"),
    ]
    req = {r.brief(): r for r in server.requests}
    assert base64.b64decode(req[("POST", f"{REPO}/git/blobs")].body["content"]).decode() == FIXED
    tree_body = req[("POST", f"{REPO}/git/trees")].body
    assert tree_body["base_tree"] == server.repo.commits[base_sha]["tree"]
    assert [(e["path"], e["mode"], e["type"]) for e in tree_body["tree"]] == [("server.py", "100644", "blob")]
    commit_body = req[("POST", f"{REPO}/git/commits")].body
    assert commit_body["parents"] == [base_sha] and commit_body["message"] == "Fix handshake"
    assert req[("POST", f"{REPO}/git/refs")].body["ref"] == f"refs/heads/{FIX_BRANCH}"
    assert req[("GET", f"{REPO}/pulls")].query == {"state": "open", "head": f"acme:{FIX_BRANCH}", "base": "main"}
    assert req[("POST", f"{REPO}/pulls")].body == {
        "base": "main",
        "head": FIX_BRANCH,
        "title": "Fix handshake 500",
        "body": "why 1..5",
    }
    assert (pr.number, pr.state, pr.branch, pr.base) == (1, "open", FIX_BRANCH, "main")
    assert pr.head_sha == server.repo.refs[f"heads/{FIX_BRANCH}"]
    assert server.repo.file_text(FIX_BRANCH, "server.py") == FIXED
    assert server.repo.file_text(FIX_BRANCH, "README.md") == "chat backend\n"  # untouched files carried over


def test_rerun_updates_the_open_pr_instead_of_creating_one(target_repo: Path, server: LocalGitHubServer) -> None:
    commit_fix(target_repo)
    first = open_pr(make_host(target_repo, server))
    head = server.repo.refs[f"heads/{FIX_BRANCH}"]
    server.requests.clear()
    resumed = make_host(target_repo, server)  # a resumed run: a new process, a new client
    again = resumed.open_or_update_pr(
        branch=FIX_BRANCH, base="main", title="Fix handshake 500 (v2)", body="v2", category_id="server-error-1"
    )
    assert again.number == first
    methods = server.calls()
    assert ("POST", f"{REPO}/pulls") not in methods
    assert ("POST", f"{REPO}/git/commits") not in methods  # same tree: the branch's commit is reused
    assert methods[-1] == ("PATCH", f"{REPO}/pulls/{first}")
    assert server.requests[-1].body == {"title": "Fix handshake 500 (v2)", "body": "v2"}
    assert server.repo.refs[f"heads/{FIX_BRANCH}"] == head
    assert len(server.repo.pulls) == 1


def test_a_new_attempt_force_updates_the_branch(target_repo: Path, server: LocalGitHubServer) -> None:
    commit_fix(target_repo)
    host = make_host(target_repo, server)
    open_pr(host)
    commit_fix(target_repo, patch=FIX_PATCH.replace("101", "200"), message="Fix handshake, take 2")
    server.requests.clear()
    assert open_pr(host) == 1
    [update] = [r for r in server.requests if r.method == "PATCH" and "/git/refs/" in r.path]
    assert update.path == f"{REPO}/git/refs/heads/{FIX_BRANCH}" and update.body["force"] is True
    assert server.repo.file_text(FIX_BRANCH, "server.py") == FIXED.replace("101", "200")
    assert len(server.repo.pulls) == 1


def test_comment_is_posted_once(target_repo: Path, server: LocalGitHubServer) -> None:
    commit_fix(target_repo)
    host = make_host(target_repo, server)
    n = open_pr(host)
    server.requests.clear()
    host.comment(n, "after the fix: 5 passed, 0 failed")
    assert server.calls() == [
        ("GET", f"{REPO}/pulls/{n}"),
        ("GET", f"{REPO}/issues/{n}/comments"),
        ("POST", f"{REPO}/issues/{n}/comments"),
    ]
    assert server.requests[-1].body == {"body": "after the fix: 5 passed, 0 failed"}
    host.comment(n, "after the fix: 5 passed, 0 failed")
    assert [r.method for r in server.requests].count("POST") == 1


def test_review_posts_the_event(target_repo: Path, server: LocalGitHubServer) -> None:
    commit_fix(target_repo)
    host = make_host(target_repo, server)
    n = open_pr(host)
    host.review(n, body="approved by alice via fixloop", event="APPROVE")
    assert server.calls()[-1] == ("POST", f"{REPO}/pulls/{n}/reviews")
    assert server.requests[-1].body == {"body": "approved by alice via fixloop", "event": "APPROVE", "comments": []}
    with pytest.raises(CodeHostError, match="unknown review event"):
        host.review(n, body="x", event="LGTM")


def test_merge_pins_the_head_and_returns_the_merge_sha(target_repo: Path, server: LocalGitHubServer) -> None:
    commit_fix(target_repo)
    host = make_host(target_repo, server)
    n = open_pr(host)
    head = server.repo.refs[f"heads/{FIX_BRANCH}"]
    base = server.repo.refs["heads/main"]
    server.requests.clear()
    sha = host.merge(n, approved_by="alice")
    assert server.calls() == [("GET", f"{REPO}/pulls/{n}"), ("PUT", f"{REPO}/pulls/{n}/merge")]
    assert server.requests[-1].body == {
        "commit_title": f"Merge pull request #{n} from {FIX_BRANCH}",
        "commit_message": "Fix handshake 500\n\nApproved-by: alice",
        "merge_method": "merge",
        "sha": head,
    }
    assert server.repo.refs["heads/main"] == sha
    assert server.repo.commits[sha]["parents"] == [base, head]
    assert server.repo.file_text("main", "server.py") == FIXED
    server.requests.clear()
    assert host.merge(n, approved_by="alice") == sha  # merged already: nothing is merged twice
    assert server.calls() == [("GET", f"{REPO}/pulls/{n}")]
    found = host.find_pr(FIX_BRANCH)
    assert found is not None and found.state == "merged" and found.number == n


def test_github_errors_become_code_host_errors_without_the_token(target_repo: Path, server: LocalGitHubServer) -> None:
    commit_fix(target_repo)
    with pytest.raises(CodeHostError, match="HTTP 401 Bad credentials") as info:
        open_pr(make_host(target_repo, server, token="wrong-token"))
    assert "wrong-token" not in info.value.one_line() and "s3cret" not in info.value.one_line()
    host = make_host(target_repo, server)
    with pytest.raises(CodeHostError, match="HTTP 404"):
        host.comment(42, "hello")
    assert host.find_pr("fixloop/nothing") is None


def test_build_codehost_reads_the_token_from_the_named_env_var(
    target_repo: Path, server: LocalGitHubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = CodeHostSettings(backend="github", repo="acme/chatbackend", base_url=server.base_url, token_env="GH_TOK")
    settings = Settings(codehost=cfg)
    with pytest.raises(ConfigError, match="GH_TOK is not set"):
        build_codehost(settings, target_repo)
    monkeypatch.setenv("GH_TOK", "s3cret-token")
    host = build_codehost(settings, target_repo)
    assert isinstance(host, GitHubCodeHost) and isinstance(host, CodeHost)
    assert host.find_pr(FIX_BRANCH) is None
    assert server.requests[-1].query == {"state": "all", "head": f"acme:{FIX_BRANCH}"}
    with pytest.raises(ConfigError, match=r"codehost\.repo is required"):
        build_codehost(Settings(codehost=CodeHostSettings(backend="github")), target_repo)


def test_a_deleted_file_is_removed_from_the_pushed_tree(target_repo: Path, server: LocalGitHubServer) -> None:
    delete_readme = "--- a/README.md\n+++ /dev/null\n@@ -1 +0,0 @@\n-chat backend\n"
    commit_fix(target_repo, patch=FIX_PATCH + delete_readme)
    open_pr(make_host(target_repo, server))
    [tree_request] = [r for r in server.requests if r.path.endswith("/git/trees")]
    assert {"path": "README.md", "mode": "100644", "type": "blob", "sha": None} in tree_request.body["tree"]
    assert server.repo.file_text(FIX_BRANCH, "README.md") is None
    assert server.repo.file_text(FIX_BRANCH, "server.py") == FIXED


def test_merge_pinned_to_the_approved_head_is_refused_after_a_new_push(
    target_repo: Path, server: LocalGitHubServer
) -> None:
    commit_fix(target_repo)
    host = make_host(target_repo, server)
    n = open_pr(host)
    approved = server.repo.refs[f"heads/{FIX_BRANCH}"]
    commit_fix(target_repo, patch=FIX_PATCH.replace("101", "666"))
    open_pr(host)
    with pytest.raises(CodeHostError, match="HTTP 409 Head branch was modified"):
        host.merge(n, approved_by="alice", expected_head=approved)
    assert server.requests[-1].body["sha"] == approved
    assert server.repo.file_text("main", "server.py") == "def handshake_status():\n    return 500\n"  # not merged
