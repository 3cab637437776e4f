"""What a ``fixloop serve`` process may do: allowed repos, defaults, where Slack and GitHub are."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from fixloop.errors import UsageError
from fixloop.paths import project_root
from fixloop.server.body import GITHUB_MAX_BODY, SLACK_MAX_BODY
from fixloop.server.workspaces import DEMO_REPO

LLM_MODES = ("none", "scripted", "openai")
SLACK_RESPONSE_ORIGINS = ("https://hooks.slack.com",)


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


@dataclass
class ServerOptions:
    """Server-side options (CLI flags of ``fixloop serve``); settings proper come from ``Settings``."""

    repos: dict[str, Path] = field(default_factory=dict)  # allow-list: name -> checked-out repo
    default_repo: str | None = None
    default_focus: str = "websockets"
    default_llm: str = "none"
    allowed_llm: tuple[str, ...] = LLM_MODES
    checkpointer: str | None = None
    slack_api_url: str | None = None  # e.g. http://127.0.0.1:PORT/api/ for a local stand-in
    github_api_url: str | None = None
    public_url: str = ""  # where /runs/{thread} can be reached from a chat link
    run_workers: int = 2  # remediations at once
    chat_workers: int = 4  # quick chat jobs (posting, status, why)
    max_pending: int = 32  # queued jobs per pool before the server answers "busy"
    poll_interval: float = 1.0  # seconds between run.json polls for progress and events
    github_write_interval: float | None = 1.0  # PyGithub pause between writes (secondary rate limits)
    bot_user_id: str | None = None  # the Slack bot's user id (its mentions); learned via auth.test when None
    extra_run_fields: dict[str, object] = field(default_factory=dict)  # RunRequest.extra for every run

    demo: bool = True  # allow the bundled example as repo "demo" (a fresh copy per run)
    # where a Slack response_url may point (scheme://host[:port]); the --slack-api-url stand-in is added
    slack_response_origins: tuple[str, ...] = SLACK_RESPONSE_ORIGINS
    slack_max_body: int = SLACK_MAX_BODY  # bytes; refused (413) while reading, before the signature check
    github_max_body: int = GITHUB_MAX_BODY

    def __post_init__(self) -> None:
        if self.slack_api_url:
            self.slack_response_origins = (*self.slack_response_origins, self.slack_api_url)
        if self.demo and DEMO_REPO not in self.repos:
            example = bundled_example()
            if example is not None:
                self.repos[DEMO_REPO] = example
        if self.default_repo is None and len(self.repos) == 1:
            self.default_repo = next(iter(self.repos))
        if self.default_repo is None and DEMO_REPO in self.repos:
            self.default_repo = DEMO_REPO
        if self.default_repo is not None and self.default_repo not in self.repos:
            raise UsageError(
                f"default repo {self.default_repo!r} is not in the allowed repos ({', '.join(self.repos) or 'none'})"
            )
        if self.default_llm not in self.allowed_llm:
            raise UsageError(f"default llm {self.default_llm!r} is not one of {', '.join(self.allowed_llm)}")

    def llm_for(self, requested: str | None) -> str:
        """The model mode a chat-started run uses: the one asked for, else the default; refused when not allowed."""
        llm = requested or self.default_llm
        if llm not in self.allowed_llm:
            raise UsageError(f"llm {llm!r} is not allowed here ({', '.join(self.allowed_llm)})")
        return llm

    def response_url_allowed(self, url: str) -> bool:
        """A ``response_url`` is only followed to Slack (or the configured local stand-in)."""
        origin = _origin(url)
        return origin is not None and any(origin == _origin(allowed) for allowed in self.slack_response_origins)

    def github_repo(self, full_name: str) -> str | None:
        """The allow-list entry a GitHub webhook's ``owner/name`` matches: only an entry named with its owner
        (case-insensitive, as GitHub names are); a bare entry such as ``demo`` never matches a webhook."""
        if full_name.count("/") != 1:
            return None
        wanted = full_name.casefold()
        return next((name for name in self.repos if "/" in name and name.casefold() == wanted), None)

    def is_demo(self, repo: str) -> bool:
        return self.demo and repo == DEMO_REPO


def bundled_example() -> Path | None:
    """The example target shipped under ``examples/``, when running from a checkout."""
    root = project_root()
    example = root / "examples" / "chatbackend" if root is not None else None
    return example if example is not None and example.is_dir() else None


def parse_repo_flags(values: list[str]) -> dict[str, Path]:
    """``NAME=PATH`` pairs (or a bare PATH, named after its folder) -> an allow-list of existing folders."""
    repos: dict[str, Path] = {}
    for raw in values:
        name, sep, path_text = raw.partition("=")
        if not sep:
            path_text, name = raw, Path(raw).expanduser().resolve().name
        path = Path(path_text).expanduser().resolve()
        if not path.is_dir():
            raise UsageError(f"allowed repo {raw!r}: {path} is not a folder", hint="pass --allow-repo NAME=PATH")
        repos[name.strip()] = path
    return repos
