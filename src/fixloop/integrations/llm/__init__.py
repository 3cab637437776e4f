"""Chat models: ``openai`` (any OpenAI-compatible endpoint) and ``scripted`` (the labelled test double)."""

from __future__ import annotations

from fixloop.config import Settings
from fixloop.errors import NotReadyError
from fixloop.interfaces import ChatModel


def build_model(settings: Settings, *, scenario: str | None = None) -> ChatModel | None:
    """None for mode ``none``; the real openai client for ``openai``; for ``scripted``, the openai client
    pointed at the local scripted server (started on loopback) replaying ``scenario``'s script."""
    raise NotReadyError("models land with issue #5")
