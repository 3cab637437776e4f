"""``build_model``: the string registry of model backends."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from fixloop.config import LLMSettings, Settings
from fixloop.errors import ConfigError, ModelError, UsageError
from fixloop.integrations.llm import ScriptedChatModel, build_model, scripted_model
from fixloop.integrations.llm.scripted_server import ScriptedServer
from fixloop.interfaces import ChatMessage, ChatModel
from tests.integrations.llm.scenario_repo import ScenarioRepo


class Reply(BaseModel):
    n: int


def test_none_means_no_model() -> None:
    assert build_model(Settings(llm=LLMSettings(mode="none"))) is None


def test_openai_needs_the_key_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_LLM_KEY", raising=False)
    with pytest.raises(ConfigError, match="environment variable MY_LLM_KEY"):
        build_model(Settings(llm=LLMSettings(mode="openai", api_key_env="MY_LLM_KEY")))


def test_openai_talks_to_the_configured_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_LLM_KEY", "sk-test-not-real")
    with ScriptedServer({"reply": [{"n": 5}]}) as server:
        settings = Settings(
            llm=LLMSettings(mode="openai", base_url=server.url, model="gpt-x", api_key_env="MY_LLM_KEY")
        )
        model = build_model(settings)
        assert isinstance(model, ChatModel)
        assert model.name == "openai:gpt-x"
        assert model.complete_json([ChatMessage("user", "n?")], Reply, purpose="reply") == Reply(n=5)
        assert server.requests[0].body["model"] == "gpt-x"


def test_openai_without_base_url_never_reaches_a_real_endpoint_in_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_LLM_KEY", "sk-test-not-real")
    settings = Settings(llm=LLMSettings(mode="openai", api_key_env="MY_LLM_KEY", max_retries=0))
    model = build_model(settings)
    assert model is not None
    with pytest.raises(ModelError, match="connection failed"):  # OPENAI_BASE_URL is a dead port in tests
        model.complete_json([ChatMessage("user", "n?")], Reply, purpose="reply")


def test_scripted_needs_a_scenario() -> None:
    with pytest.raises(UsageError, match="--scenario"):
        build_model(Settings(llm=LLMSettings(mode="scripted")))


def test_scripted_with_an_unknown_scenario_is_a_clear_error() -> None:
    with pytest.raises(UsageError, match="unknown scenario 'no-such-scenario-anywhere'"):
        build_model(Settings(llm=LLMSettings(mode="scripted")), scenario="no-such-scenario-anywhere")


def test_scripted_model_is_labelled_and_owns_its_server(scenario_repo: ScenarioRepo) -> None:
    settings = Settings(llm=LLMSettings(mode="scripted"))
    model = scripted_model(settings, scenario_repo.scenario)
    assert isinstance(model, ScriptedChatModel)
    assert model.name == "scripted:toy-handshake-500"
    assert model.server.url.startswith("http://127.0.0.1:")
    model.close()
    with pytest.raises(RuntimeError, match="not running"):
        _ = model.server.url
