"""Server secrets, read from environment variables only (their names are configurable).

A route whose secrets are missing is *disabled*: it answers every request 403 and
starts nothing. ``disabled_routes`` says which, one line each, for the startup log.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class SecretNames:
    """The names of the env vars holding each secret (never the values)."""

    slack_signing_secret: str = "SLACK_SIGNING_SECRET"
    slack_bot_token: str = "SLACK_BOT_TOKEN"
    github_webhook_secret: str = "GITHUB_WEBHOOK_SECRET"
    github_token: str = "GITHUB_TOKEN"
    api_token: str = "FIXLOOP_API_TOKEN"
    button_key: str = "FIXLOOP_BUTTON_KEY"  # signs the Slack approval buttons (any long random string)


@dataclass(frozen=True)
class ServerSecrets:
    names: SecretNames
    slack_signing_secret: str | None = None
    slack_bot_token: str | None = None
    github_webhook_secret: str | None = None
    github_token: str | None = None
    api_token: str | None = None
    button_key: str | None = None

    @classmethod
    def from_env(cls, names: SecretNames | None = None, env: Mapping[str, str] | None = None) -> ServerSecrets:
        names = names or SecretNames()
        source = os.environ if env is None else env

        def read(name: str) -> str | None:
            value = source.get(name, "").strip()
            return value or None

        return cls(
            names=names,
            slack_signing_secret=read(names.slack_signing_secret),
            slack_bot_token=read(names.slack_bot_token),
            github_webhook_secret=read(names.github_webhook_secret),
            github_token=read(names.github_token),
            api_token=read(names.api_token),
            button_key=read(names.button_key),
        )

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_signing_secret and self.slack_bot_token and self.button_key)

    @property
    def github_enabled(self) -> bool:
        return bool(self.github_webhook_secret and self.github_token)

    @property
    def runs_api_enabled(self) -> bool:
        return bool(self.api_token)

    def values(self) -> list[str]:
        """Every configured secret value (for redaction)."""
        found = [self.slack_signing_secret, self.slack_bot_token, self.github_webhook_secret]
        found += [self.github_token, self.api_token, self.button_key]
        return [v for v in found if v]

    def missing_slack(self) -> list[str]:
        n = self.names
        return [
            name
            for name, v in (
                (n.slack_signing_secret, self.slack_signing_secret),
                (n.slack_bot_token, self.slack_bot_token),
                (n.button_key, self.button_key),
            )
            if not v
        ]

    def missing_github(self) -> list[str]:
        n = self.names
        return [
            name
            for name, v in ((n.github_webhook_secret, self.github_webhook_secret), (n.github_token, self.github_token))
            if not v
        ]

    def disabled_routes(self) -> list[str]:
        """One line per disabled route: which route, which env var is missing, what it answers."""
        lines: list[str] = []
        slack_missing = ", ".join(self.missing_slack())
        if slack_missing:
            for route in ("/slack/commands", "/slack/interactions", "/slack/events"):
                lines.append(f"route POST {route} DISABLED: {slack_missing} not set; it answers 403 to every request")
        github_missing = ", ".join(self.missing_github())
        if github_missing:
            lines.append(
                f"route POST /github/webhook DISABLED: {github_missing} not set; it answers 403 to every request"
            )
        if not self.api_token:
            for route in ("/runs", "/runs/{thread}", "/runs/{thread}/events"):
                lines.append(
                    f"route GET {route} DISABLED: {self.names.api_token} not set; it answers 403 to every request"
                )
        return lines
