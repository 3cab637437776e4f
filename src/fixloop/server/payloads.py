"""The shapes of the Slack and GitHub payloads the routes read, checked by pydantic.

Only the fields the routes use are modelled; unknown fields are ignored. A payload of the
wrong shape raises ``pydantic.ValidationError``, which the routes answer with a 4xx and a
one-line message (see ``shape_error``), never a 500.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def shape_error(exc: ValidationError) -> str:
    """One line naming the first field of the wrong shape, e.g. ``issue.number: Input should be ...``."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "payload"
    return f"payload of the wrong shape: {where}: {first['msg']} ({exc.error_count()} error(s))"


# ---------------------------------------------------------------- GitHub


class GithubUser(_Payload):
    login: str = ""
    type: str = ""


class GithubRepository(_Payload):
    full_name: str = ""


class GithubIssue(_Payload):
    number: Annotated[StrictInt, Field(gt=0)]
    body: str | None = None
    updated_at: Annotated[str, Field(max_length=64)] | None = None  # moves with each label event


class GithubComment(_Payload):
    id: Annotated[StrictInt, Field(gt=0)] | None = None
    body: str | None = None


class GithubLabel(_Payload):
    name: str = ""


class GithubIssueEvent(_Payload):
    """An ``issues`` or ``issue_comment`` webhook: the issue must carry a positive integer number."""

    action: str = ""
    issue: GithubIssue
    sender: GithubUser | None = None
    repository: GithubRepository | None = None
    comment: GithubComment | None = None
    label: GithubLabel | None = None


# ---------------------------------------------------------------- Slack


class SlackEnvelope(_Payload):
    """The outer object of an Events API body or of an interaction's ``payload``."""

    type: str = ""
    challenge: str = ""
    event_id: str = ""  # an Events API event's id, the same on Slack's retries of it
    event: dict[str, Any] | None = None


class SlackMessageEvent(_Payload):
    """An ``app_mention`` or ``message`` event (the only events the server answers)."""

    type: str = ""
    text: str = ""
    user: str = ""
    channel: str = ""
    thread_ts: str | None = None
    bot_id: str | None = None


class SlackId(_Payload):
    id: str = ""


class SlackMessage(_Payload):
    ts: str = ""
    thread_ts: str | None = None


class SlackAction(_Payload):
    action_id: str = ""
    value: str = ""


class SlackBlockActions(_Payload):
    """A ``block_actions`` interaction (a button click)."""

    type: str = ""
    actions: list[SlackAction] = []
    user: SlackId | None = None
    channel: SlackId | None = None
    message: SlackMessage | None = None
    response_url: str = ""
