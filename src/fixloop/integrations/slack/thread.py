"""Post to a run's Slack thread through the real ``slack_sdk.WebClient``.

Every text is redacted before it leaves; Slack API failures become ``SlackPostError``
(logged by the caller, never a crash of the worker).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from fixloop.errors import FixloopError

log = logging.getLogger("fixloop.slack")


class SlackPostError(FixloopError):
    """Slack refused or could not be reached."""


def _redact_blocks(value: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redact_blocks(v, redact) for v in value]
    if isinstance(value, dict):
        return {
            k: (v if k in ("action_id", "block_id", "type", "style", "value") else _redact_blocks(v, redact))
            for k, v in value.items()
        }
    return value


class SlackPoster:
    """chat.postMessage / chat.update / response_url, redacted."""

    def __init__(self, token: str, *, base_url: str | None = None, redact: Callable[[str], str] = str) -> None:
        kwargs: dict[str, Any] = {"token": token}
        if base_url:
            kwargs["base_url"] = base_url if base_url.endswith("/") else base_url + "/"
        self.client = WebClient(**kwargs)
        self.redact = redact

    def post(
        self, channel: str, text: str, *, thread_ts: str | None = None, blocks: list[dict[str, Any]] | None = None
    ) -> str:
        """Post a message (in a thread when ``thread_ts``); return its ts."""
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                text=self.redact(text),
                thread_ts=thread_ts,
                blocks=_redact_blocks(blocks, self.redact) if blocks else None,
            )
        except (SlackApiError, SlackClientError, OSError) as exc:
            raise SlackPostError(f"Slack chat.postMessage failed: {exc}") from None
        return str(response.get("ts", ""))

    def update(self, channel: str, ts: str, text: str, *, blocks: list[dict[str, Any]] | None = None) -> None:
        try:
            self.client.chat_update(
                channel=channel,
                ts=ts,
                text=self.redact(text),
                blocks=_redact_blocks(blocks, self.redact) if blocks is not None else None,
            )
        except (SlackApiError, SlackClientError, OSError) as exc:
            raise SlackPostError(f"Slack chat.update failed: {exc}") from None

    def respond(self, response_url: str, text: str, *, ephemeral: bool = True) -> None:
        """Answer through an interaction's or command's ``response_url``."""
        try:
            WebhookClient(response_url).send(
                text=self.redact(text), response_type="ephemeral" if ephemeral else "in_channel", replace_original=False
            )
        except (SlackClientError, OSError) as exc:
            raise SlackPostError(f"Slack response_url failed: {exc}") from None

    def bot_user_id(self) -> str | None:
        try:
            return str(self.client.auth_test().get("user_id") or "") or None
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("Slack auth.test failed: %s", exc)
            return None
