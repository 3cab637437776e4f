"""Answer on GitHub issues through PyGithub (``Github(base_url=...)`` reaches a local stand-in in tests)."""

from __future__ import annotations

from collections.abc import Callable

from github import Auth, Github, GithubException

from fixloop.errors import CodeHostError

DEFAULT_API = "https://api.github.com"


class IssueBot:
    """Posts comments on issues; every body is redacted first."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str | None = None,
        redact: Callable[[str], str] = str,
        seconds_between_writes: float | None = 1.0,
    ) -> None:
        self._github = Github(
            base_url=(base_url or DEFAULT_API).rstrip("/"),
            auth=Auth.Token(token),
            retry=None,
            seconds_between_requests=None,
            seconds_between_writes=seconds_between_writes,
            lazy=True,
        )
        self.redact = redact

    def comment(self, repo_full_name: str, issue_number: int, body: str) -> str:
        """Comment on ``repo#issue_number``; return the comment's URL."""
        try:
            issue = self._github.get_repo(repo_full_name).get_issue(issue_number)
            created = issue.create_comment(self.redact(body))
        except GithubException as exc:
            raise CodeHostError(f"GitHub comment on {repo_full_name}#{issue_number} failed: {exc.status}") from None
        return str(created.html_url or "")
