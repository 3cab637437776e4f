"""The protocols of the outside world.

Nodes and agents depend on these, never on a vendor client. Each has a real
implementation and a local one under ``integrations/``; only ``cli.py`` and
``server/`` choose and build them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from fixloop.records import DeployRecord, PullRequestRecord

# ---------------------------------------------------------------- LLM


@dataclass(frozen=True)
class ChatMessage:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass
class ModelUsage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


@runtime_checkable
class ChatModel(Protocol):
    """An OpenAI-compatible chat model that can answer in a JSON schema."""

    name: str  # e.g. "openai:gpt-4.1" or "scripted:handshake-500"
    usage: ModelUsage

    def complete_json(self, messages: Sequence[ChatMessage], schema: type[BaseModel], *, purpose: str) -> BaseModel:
        """Return a validated instance of ``schema``; raise ``ModelError`` after retries."""
        ...


# ---------------------------------------------------------------- logs


@dataclass(frozen=True)
class LogQuery:
    start: datetime
    end: datetime
    service_name: str | None = None
    revision_name: str | None = None
    min_severity: str = "DEFAULT"
    trace: str | None = None
    limit: int = 5000


@dataclass
class LogEntry:
    """One entry in Cloud Logging ``LogEntry`` shape (the fields fixloop reads)."""

    timestamp: datetime
    severity: str
    message: str  # textPayload, or jsonPayload["message"]
    payload: dict[str, Any] = field(default_factory=dict)
    service_name: str = ""
    revision_name: str = ""
    trace: str = ""
    source_file: str = ""
    source_line: int | None = None
    source_function: str = ""


@runtime_checkable
class LogSource(Protocol):
    name: str

    def fetch(self, query: LogQuery) -> list[LogEntry]:
        """Entries in the window, oldest first; raise ``LogSourceError`` on failure."""
        ...


# ---------------------------------------------------------------- code host


@runtime_checkable
class CodeHost(Protocol):
    name: str

    def open_or_update_pr(
        self, *, branch: str, base: str, title: str, body: str, category_id: str
    ) -> PullRequestRecord:
        """Push ``branch`` (already committed locally) and open its PR, or update the open one."""
        ...

    def find_pr(self, branch: str) -> PullRequestRecord | None: ...

    def comment(self, pr_number: int, body: str) -> None: ...

    def merge(self, pr_number: int, *, approved_by: str, expected_head: str | None = None) -> str:
        """Merge and return the merge commit sha; with ``expected_head`` (the head sha that was approved),
        refuse with ``CodeHostError`` when the PR's head has moved since."""
        ...

    def review(self, pr_number: int, *, body: str, event: str = "COMMENT") -> None:
        """Post a review: ``event`` is ``APPROVE``, ``REQUEST_CHANGES`` or ``COMMENT``."""
        ...


# ---------------------------------------------------------------- deploy


@runtime_checkable
class Deployer(Protocol):
    name: str

    def deploy(self, revision: str) -> DeployRecord:
        """Deploy ``revision`` and wait until healthy (or record why not)."""
        ...


# ---------------------------------------------------------------- notifications


@runtime_checkable
class Notifier(Protocol):
    """Where progress goes: the terminal, a Slack thread, a GitHub issue."""

    def post(self, thread_id: str, text: str, *, kind: str = "progress") -> None: ...
