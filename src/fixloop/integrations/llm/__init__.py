"""Chat models: ``openai`` (any OpenAI-compatible endpoint) and ``scripted`` (the labelled test double).

Both go through the real ``openai`` client: ``scripted`` points it at a local server that replays a
scenario's script. ``none`` means no model at all (the rule-based five whys, no fix).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from fixloop.config import Settings
from fixloop.errors import ConfigError, UsageError
from fixloop.integrations.llm.openai_chat import BudgetExceededError, OpenAIChatModel, RetryPolicy
from fixloop.integrations.llm.scripted import ScriptedChatModel, budget_of, latency_from_env, scripted_model
from fixloop.interfaces import ChatModel
from fixloop.scenarios import load_scenario

__all__ = [
    "MODEL_BACKENDS",
    "BudgetExceededError",
    "OpenAIChatModel",
    "ScriptedChatModel",
    "build_model",
    "openai_model",
    "scripted_model",
]


def build_model(settings: Settings, *, scenario: str | None = None) -> ChatModel | None:
    """None for mode ``none``; the real openai client for ``openai``; for ``scripted``, the openai client
    pointed at the local scripted server (started on loopback) replaying ``scenario``'s script."""
    builder = MODEL_BACKENDS.get(settings.llm.mode)
    if builder is None:
        raise ConfigError(f"unknown llm mode {settings.llm.mode!r}", hint=f"use one of {', '.join(MODEL_BACKENDS)}")
    return builder(settings, scenario)


def openai_model(settings: Settings, scenario: str | None = None) -> OpenAIChatModel:
    """The real endpoint: ``llm.base_url`` (else the client's default), ``llm.model``, and the key from
    the environment variable named by ``llm.api_key_env``."""
    key = os.environ.get(settings.llm.api_key_env, "")
    if not key:
        raise ConfigError(
            f"--llm openai needs an API key in the environment variable {settings.llm.api_key_env}",
            hint="set it, or name another variable with FIXLOOP_LLM__API_KEY_ENV",
        )
    return OpenAIChatModel(
        model=settings.llm.model,
        api_key=key,
        base_url=settings.llm.base_url,
        timeout=settings.llm.timeout,
        retry=RetryPolicy(max_retries=settings.llm.max_retries),
        budget=budget_of(settings),
    )


def _no_model(settings: Settings, scenario: str | None) -> None:
    return None


def _scripted(settings: Settings, scenario: str | None) -> ScriptedChatModel:
    if not scenario:
        raise UsageError("--llm scripted needs --scenario NAME: it replays that scenario's script")
    return scripted_model(settings, load_scenario(scenario), latency=latency_from_env())


MODEL_BACKENDS: dict[str, Callable[[Settings, str | None], ChatModel | None]] = {
    "none": _no_model,
    "openai": openai_model,
    "scripted": _scripted,
}
