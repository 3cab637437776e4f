"""The scripted model: the real openai client pointed at the local scripted server for a scenario."""

from __future__ import annotations

from fixloop.config import Settings
from fixloop.integrations.llm.openai_chat import Budget, OpenAIChatModel, RetryPolicy
from fixloop.integrations.llm.scripted_server import ScriptedServer
from fixloop.integrations.llm.scripts import script_for_scenario
from fixloop.scenarios import Scenario

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


def scripted_model(settings: Settings, scenario: Scenario, *, latency: float = 0.0) -> ScriptedChatModel:
    """Start the scripted server for ``scenario`` on loopback; the model is named ``scripted:<scenario>``.
    ``close()`` stops the server (it runs in a daemon thread otherwise)."""
    server = ScriptedServer(script_for_scenario(scenario), model=f"scripted:{scenario.name}", latency=latency)
    return ScriptedChatModel(server.start(), settings=settings)


def budget_of(settings: Settings) -> Budget:
    return Budget(max_calls=settings.limits.max_llm_calls, max_tokens=settings.limits.max_tokens)
