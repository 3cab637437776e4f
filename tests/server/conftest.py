"""Fixtures for the server tests: secrets, settings, the Slack and GitHub stand-ins, a live app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from fixloop.config import ApprovalSettings, Settings
from fixloop.integrations.slack.local_slack_server import LocalSlackServer
from fixloop.server.app import create_app
from fixloop.server.options import ServerOptions
from fixloop.server.runner import Runner
from fixloop.server.secrets import SecretNames, ServerSecrets
from tests.server.helpers import (
    API_TOKEN,
    BUTTON_KEY,
    GITHUB_SECRET,
    GITHUB_TOKEN,
    SLACK_SECRET,
    SLACK_TOKEN,
    LocalGithubIssues,
    ScriptedRunner,
    serving,
)


def all_secrets() -> ServerSecrets:
    return ServerSecrets(
        names=SecretNames(),
        slack_signing_secret=SLACK_SECRET,
        slack_bot_token=SLACK_TOKEN,
        github_webhook_secret=GITHUB_SECRET,
        github_token=GITHUB_TOKEN,
        api_token=API_TOKEN,
        button_key=BUTTON_KEY,
    )


def approval_settings() -> Settings:
    return Settings(
        approval=ApprovalSettings(
            approvers=["alice", "bob"],
            slack_users={"UALICE": "alice", "UBOB": "bob", "UCAROL": "carol", "UMALLORY": "mallory"},
            github_users={"alice-gh": "alice", "carol": "carol"},
        )
    )


@dataclass
class LiveServer:
    url: str
    app: Starlette
    slack: LocalSlackServer
    github: LocalGithubIssues
    runner: Runner

    @property
    def scripted(self) -> ScriptedRunner:
        """The runner as the ScriptedRunner that records every call (the default runner)."""
        assert isinstance(self.runner, ScriptedRunner), self.runner
        return self.runner


@pytest.fixture
def slack_server() -> Iterator[LocalSlackServer]:
    with LocalSlackServer(token=SLACK_TOKEN) as server:
        yield server


@pytest.fixture
def github_server() -> Iterator[LocalGithubIssues]:
    server = LocalGithubIssues()
    yield server
    server.stop()


LiveFactory = Callable[..., AbstractContextManager[LiveServer]]


@pytest.fixture
def live(slack_server: LocalSlackServer, github_server: LocalGithubIssues, tmp_path: Path) -> LiveFactory:
    """``with live(runner=..., secrets=...) as server:`` a real uvicorn serving the app."""
    repo = tmp_path / "chatbackend"
    repo.mkdir()

    @contextmanager
    def _live(
        *, runner: Runner | None = None, secrets: ServerSecrets | None = None, **option_overrides: object
    ) -> Iterator[LiveServer]:
        chosen_runner = runner or ScriptedRunner()
        values: dict[str, Any] = {  # ServerOptions fields of several types, checked by its constructor
            "repos": {"chatbackend": repo, "acme/chatbackend": repo},
            "default_repo": "chatbackend",
            "slack_api_url": slack_server.api_url,
            "github_api_url": github_server.url,
            "github_write_interval": None,
            "poll_interval": 0.05,
            "bot_user_id": "UFIXLOOP",
        }
        values.update(option_overrides)
        options = ServerOptions(**values)
        app = create_app(approval_settings(), runner=chosen_runner, options=options, secrets=secrets or all_secrets())
        with serving(app) as url:
            yield LiveServer(url, app, slack_server, github_server, chosen_runner)

    return _live
