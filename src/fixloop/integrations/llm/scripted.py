"""The scripted model: the real openai client pointed at the local scripted server for a scenario."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence

from fixloop.config import Settings
from fixloop.errors import ModelUnavailableError, UsageError
from fixloop.integrations.llm.openai_chat import Budget, OpenAIChatModel, RetryPolicy
from fixloop.integrations.llm.scripted_server import ScriptedServer, StepLike
from fixloop.integrations.llm.scripts import script_for_scenario, with_overrides
from fixloop.scenarios import Scenario

LATENCY_ENV = "FIXLOOP_SCRIPTED_LATENCY"  # seconds before every scripted reply (benchmarks: waiting dominates)
STEPS_ENV = "FIXLOOP_SCRIPTED_STEPS"  # JSON overrides, e.g. {"five_whys": ["429", "scenario"]}

SCRIPTED_API_KEY = "scripted-no-key"  # the scripted server checks no key; never a real one
SCRIPTED_BACKOFF = 0.05  # seconds: scripted faults need no real waiting


class ScriptedChatModel(OpenAIChatModel):
    """An ``OpenAIChatModel`` that owns its scripted server (``server.requests`` records every prompt)."""

    def __init__(self, server: ScriptedServer, *, settings: Settings) -> None:
        super().__init__(
            model=server.model,
            name=server.model,
            api_key=SCRIPTED_API_KEY,
            base_url=server.url,
            timeout=settings.llm.timeout,
            retry=RetryPolicy(max_retries=settings.llm.max_retries, backoff=SCRIPTED_BACKOFF),
            budget=budget_of(settings),
        )
        self.server = server
        self.on_close(server.stop)

    def ping(self, timeout: float = 5.0) -> None:
        """Nothing outside to check: the scripted double is served by a thread of this process, started just
        before. (Pinging it timed a busy machine's scheduler, and failed demo runs under load.)"""
        if self.server.stopped:
            raise ModelUnavailableError(f"{self.endpoint} does not answer: the scripted server is stopped")


def scripted_model(
    settings: Settings,
    scenario: Scenario,
    *,
    latency: float = 0.0,
    steps: Mapping[str, Sequence[StepLike]] | None = None,
) -> ScriptedChatModel:
    """Start the scripted server for ``scenario`` on loopback; the model is named ``scripted:<scenario>``.

    ``latency`` delays every reply; ``steps`` (else the JSON in ``$FIXLOOP_SCRIPTED_STEPS``) replaces some
    purposes' steps, ``"scenario"`` standing for the scenario's own (see ``scripts.with_overrides``).
    ``close()`` stops the server (it runs in a daemon thread otherwise)."""
    script = with_overrides(script_for_scenario(scenario), steps if steps is not None else steps_from_env())
    hang = settings.llm.timeout + 5.0  # a "timeout" step outlasts the client's timeout (keep it small in tests)
    server = ScriptedServer(script, model=f"scripted:{scenario.name}", latency=latency, hang_seconds=hang)
    return ScriptedChatModel(server.start(), settings=settings)


def latency_from_env() -> float:
    raw = os.environ.get(LATENCY_ENV, "").strip()
    try:
        latency = float(raw) if raw else 0.0
    except ValueError:
        raise UsageError(f"{LATENCY_ENV} must be a number of seconds, not {raw!r}") from None
    if not 0 <= latency <= 60:
        raise UsageError(f"{LATENCY_ENV} must be between 0 and 60 seconds")
    return latency


def steps_from_env() -> dict[str, list[StepLike]]:
    raw = os.environ.get(STEPS_ENV, "").strip()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{STEPS_ENV} is not JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise UsageError(f'{STEPS_ENV} must be a JSON object of lists, e.g. {{"five_whys": ["429", "scenario"]}}')
    return data


def budget_of(settings: Settings) -> Budget:
    return Budget(max_calls=settings.limits.max_llm_calls, max_tokens=settings.limits.max_tokens)
