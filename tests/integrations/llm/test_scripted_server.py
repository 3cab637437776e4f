"""The scripted server speaks the OpenAI protocol well enough for the real openai client."""

from __future__ import annotations

import openai
import pytest
from pydantic import BaseModel

from fixloop.errors import ModelError
from fixloop.integrations.llm.openai_chat import OpenAIChatModel, RetryPolicy
from fixloop.integrations.llm.scripted_server import RecordedRequest, ScriptedServer, Step, as_step
from fixloop.interfaces import ChatMessage


class Reply(BaseModel):
    n: int


def ask(server: ScriptedServer, purpose: str) -> BaseModel:
    model = OpenAIChatModel(model=server.model, api_key="k", base_url=server.url, retry=RetryPolicy(backoff=0.01))
    return model.complete_json([ChatMessage("user", "hi")], Reply, purpose=purpose)


def test_models_endpoint_lists_the_scripted_model() -> None:
    with ScriptedServer({"*": [{"n": 1}]}, model="scripted:demo") as server:
        client = openai.OpenAI(base_url=server.url, api_key="k", max_retries=0)
        assert [m.id for m in client.models.list()] == ["scripted:demo"]


def test_steps_are_served_in_order_and_the_last_repeats() -> None:
    with ScriptedServer({"count": [{"n": 1}, {"n": 2}]}) as server:
        assert [ask(server, "count") for _ in range(3)] == [Reply(n=1), Reply(n=2), Reply(n=2)]


def test_purposes_have_their_own_queue_and_star_answers_the_rest() -> None:
    with ScriptedServer({"a": [{"n": 1}], "*": [{"n": 9}]}) as server:
        assert ask(server, "b") == Reply(n=9)
        assert ask(server, "a") == Reply(n=1)
        assert [r.purpose for r in server.requests] == ["b", "a"]


def test_a_step_can_be_built_from_the_request() -> None:
    def echo_length(request: RecordedRequest) -> str:
        return f'{{"n": {len(request.text())}}}'

    with ScriptedServer({"echo": [echo_length]}) as server:
        assert ask(server, "echo") == Reply(n=2)


def test_unscripted_purpose_is_a_clear_model_error() -> None:
    with (
        ScriptedServer({"a": [{"n": 1}]}) as server,
        pytest.raises(ModelError, match="no scripted reply for purpose 'b'"),
    ):
        ask(server, "b")


def test_steps_are_validated() -> None:
    assert as_step("429") == Step(fault="429")
    assert as_step({"fault": "timeout"}) == Step(fault="timeout")
    assert as_step({"content": {"n": 1}}) == Step(content='{"n": 1}')
    assert as_step({"n": 1}) == Step(content='{"n": 1}')
    with pytest.raises(ValueError, match="unknown scripted fault"):
        Step(fault="explode")
    with pytest.raises(ValueError, match="non-empty list"):
        ScriptedServer({"a": []})
