"""The GitHub code host over PyGithub.

The fix branch is pushed with the Git Data API (blobs, a tree on top of the remote base's tree, a
commit, the branch ref), so no git credentials or network git are needed; the PR is found by its
head branch (``owner:branch``) and updated, or created. Every ``GithubException`` becomes a
``CodeHostError`` (the token never appears in a message).
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Any, Literal

from github import Auth, Github, GithubException, InputGitTreeElement, UnknownObjectException
from github.GitCommit import GitCommit
from github.PullRequest import PullRequest
from github.Repository import Repository

from fixloop.config import CodeHostSettings
from fixloop.errors import CodeHostError, ConfigError
from fixloop.integrations.codehost.git import run_git, run_git_bytes, validate_branch_name
from fixloop.records import PullRequestRecord

DEFAULT_BASE_URL = "https://api.github.com"
REPO_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
REVIEW_EVENTS = ("APPROVE", "REQUEST_CHANGES", "COMMENT")


def _translate(exc: GithubException, doing: str) -> CodeHostError:
    data: Any = exc.data
    message = data.get("message") if isinstance(data, dict) else None
    return CodeHostError(f"GitHub refused {doing}: HTTP {exc.status} {message or 'error'}")


class GitHubCodeHost:
    name = "github"

    def __init__(self, repo: Path, full_name: str, client: Github, *, base_branch: str = "main") -> None:
        if not REPO_NAME.match(full_name):
            raise ConfigError(f"codehost.repo must be 'owner/name', got {full_name!r}")
        self.repo_path = repo.resolve()
        self.full_name = full_name
        self.owner = full_name.split("/")[0]
        self.client = client
        self.base_branch = validate_branch_name(base_branch)
        self._repo: Repository | None = None

    @classmethod
    def from_settings(cls, cfg: CodeHostSettings, repo: Path) -> GitHubCodeHost:
        if not cfg.repo:
            raise ConfigError("codehost.repo is required for the github code host", hint="set it to 'owner/name'")
        token = os.environ.get(cfg.token_env, "")
        if not token:
            raise ConfigError(
                f"the GitHub token env var {cfg.token_env} is not set", hint="export it, or change codehost.token_env"
            )
        client = Github(base_url=cfg.base_url or DEFAULT_BASE_URL, auth=Auth.Token(token), timeout=30, retry=None)
        return cls(repo, cfg.repo, client, base_branch=cfg.base_branch)

    # ------------------------------------------------------------ the CodeHost protocol

    def open_or_update_pr(
        self, *, branch: str, base: str, title: str, body: str, category_id: str
    ) -> PullRequestRecord:
        """Push ``branch`` (already committed locally) and open its PR, or update the open one."""
        validate_branch_name(branch)
        validate_branch_name(base)
        head_sha = self._push_branch(branch, base)
        try:
            existing = list(self.repo.get_pulls(state="open", head=f"{self.owner}:{branch}", base=base))
            if existing:
                pr = existing[0]
                pr.edit(title=title, body=body)
            else:
                pr = self.repo.create_pull(base=base, head=branch, title=title, body=body)
        except GithubException as exc:
            raise _translate(exc, f"opening the pull request for {branch}") from None
        return self._record(pr, category_id=category_id, head_sha=head_sha, title=title)

    def find_pr(self, branch: str) -> PullRequestRecord | None:
        try:
            pulls = list(self.repo.get_pulls(state="all", head=f"{self.owner}:{branch}"))
        except GithubException as exc:
            raise _translate(exc, f"listing pull requests for {branch}") from None
        if not pulls:
            return None
        open_ones = [p for p in pulls if p.state == "open"]
        chosen = open_ones[0] if open_ones else max(pulls, key=lambda p: p.number)
        return self._record(chosen)

    def comment(self, pr_number: int, body: str) -> None:
        """Add an issue comment; the same body posted again (a resumed run) is not added twice."""
        try:
            pr = self.repo.get_pull(pr_number)
            if any(c.body == body for c in pr.get_issue_comments()):
                return
            pr.create_issue_comment(body)
        except GithubException as exc:
            raise _translate(exc, f"commenting on #{pr_number}") from None

    def review(self, pr_number: int, *, body: str, event: str = "COMMENT") -> None:
        if event not in REVIEW_EVENTS:
            raise CodeHostError(f"unknown review event {event!r}", hint=f"one of {', '.join(REVIEW_EVENTS)}")
        try:
            self.repo.get_pull(pr_number).create_review(body=body, event=event)
        except GithubException as exc:
            raise _translate(exc, f"reviewing #{pr_number}") from None

    def merge(self, pr_number: int, *, approved_by: str, expected_head: str | None = None) -> str:
        """Merge (a merge commit) pinned to ``expected_head`` (else the PR's current head): GitHub refuses
        with 409 if the head moved. A merged PR returns its merge sha."""
        try:
            pr = self.repo.get_pull(pr_number)
            if pr.merged:
                return pr.merge_commit_sha
            if pr.state != "open":
                raise CodeHostError(f"pull request #{pr_number} is {pr.state} and cannot be merged")
            status = pr.merge(
                commit_title=f"Merge pull request #{pr_number} from {pr.head.ref}",
                commit_message=f"{pr.title}\n\nApproved-by: {approved_by}",
                merge_method="merge",
                sha=expected_head or pr.head.sha,
            )
        except GithubException as exc:
            raise _translate(exc, f"merging #{pr_number}") from None
        if not status.merged:
            raise CodeHostError(f"pull request #{pr_number} was not merged: {status.message}")
        return status.sha

    # ------------------------------------------------------------ helpers

    @property
    def repo(self) -> Repository:
        if self._repo is None:
            try:
                self._repo = self.client.get_repo(self.full_name)
            except GithubException as exc:
                raise _translate(exc, f"access to {self.full_name}") from None
        return self._repo

    def _record(
        self, pr: PullRequest, *, category_id: str = "", head_sha: str | None = None, title: str | None = None
    ) -> PullRequestRecord:
        state: Literal["open", "merged", "closed"] = (
            "merged" if pr.merged else ("open" if pr.state == "open" else "closed")
        )
        return PullRequestRecord(
            number=pr.number,
            url=pr.html_url,
            branch=pr.head.ref,
            base=pr.base.ref,
            title=title if title is not None else pr.title,
            state=state,
            head_sha=head_sha or pr.head.sha,
            category_id=category_id,
        )

    def _push_branch(self, branch: str, base: str) -> str:
        """Replay the local branch's changes (since it left ``base``) as one commit on the remote base; return
        the remote branch's head sha. An unchanged tree reuses the remote branch's commit."""
        local_base = self._local_base(branch, base)
        changes = self._git(["diff", "--name-status", "--no-renames", "-z", local_base, f"refs/heads/{branch}"])
        message = self._git(["log", "--format=%B", "-n", "1", f"refs/heads/{branch}"]).strip() or f"fixloop: {branch}"
        fields = changes.split("\0")
        if not changes.strip("\0"):
            raise CodeHostError(f"branch {branch!r} has no changes against {base!r}", hint="commit the fix first")
        try:
            base_commit = self.repo.get_git_commit(self.repo.get_git_ref(f"heads/{base}").object.sha)
            elements = [
                self._tree_element(status, path, branch)
                for status, path in zip(fields[::2], fields[1::2], strict=False)
                if path
            ]
            tree = self.repo.create_git_tree(elements, base_tree=base_commit.tree)
            current = self._branch_commit(branch)
            if current is not None and current.tree.sha == tree.sha:
                return current.sha
            commit = self.repo.create_git_commit(message, tree, [base_commit])
            if current is None:
                self.repo.create_git_ref(f"refs/heads/{branch}", commit.sha)
            else:
                self.repo.get_git_ref(f"heads/{branch}").edit(commit.sha, force=True)
        except GithubException as exc:
            raise _translate(exc, f"pushing {branch}") from None
        return commit.sha

    def _branch_commit(self, branch: str) -> GitCommit | None:
        try:
            sha = self.repo.get_git_ref(f"heads/{branch}").object.sha
        except UnknownObjectException:
            return None
        return self.repo.get_git_commit(sha)

    def _tree_element(self, status: str, path: str, branch: str) -> InputGitTreeElement:
        if status.startswith("D"):
            return InputGitTreeElement(path, "100644", "blob", sha=None)
        mode = self._git(["ls-tree", f"refs/heads/{branch}", "--", path]).split(" ", 1)[0] or "100644"
        raw = self._git_bytes(["show", f"refs/heads/{branch}:{path}"])
        blob = self.repo.create_git_blob(base64.b64encode(raw).decode(), "base64")
        return InputGitTreeElement(path, mode, "blob", sha=blob.sha)

    def _local_base(self, branch: str, base: str) -> str:
        for ref in (f"refs/heads/{base}", f"refs/remotes/origin/{base}", "HEAD"):
            try:
                return self._git(["merge-base", ref, f"refs/heads/{branch}"]).strip()
            except CodeHostError:
                continue
        raise CodeHostError(f"branch {branch!r} shares no history with {base!r} in {self.repo_path}")

    def _git(self, args: list[str]) -> str:
        return run_git(args, self.repo_path, error=CodeHostError)

    def _git_bytes(self, args: list[str]) -> bytes:
        return run_git_bytes(args, self.repo_path, error=CodeHostError)
