"""Model faults through the real openai client against the scripted OpenAI-compatible server."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Protocol, TypedDict, Unpack

import pytest
from pydantic import BaseModel

from fixloop.errors import ConfigError, ModelError, ModelUnavailableError
from fixloop.integrations.llm.openai_chat import Budget, BudgetExceededError, OpenAIChatModel, RetryPolicy
from fixloop.integrations.llm.scripted_server import ScriptedServer, StepLike
from fixloop.interfaces import ChatMessage

FAST = RetryPolicy(max_retries=3, backoff=0.01, max_reasks=2)
ASK = [ChatMessage("user", "What is the answer? Reply as JSON.")]


class Answer(BaseModel):
    value: int
    reason: str


OK = {"value": 42, "reason": "scripted"}


class ServerOptions(TypedDict, total=False):
    latency: float
    hang_seconds: float


class Serve(Protocol):
    def __call__(self, script: Mapping[str, Sequence[StepLike]], **kwargs: Unpack[ServerOptions]) -> ScriptedServer: ...


class ModelOptions(TypedDict, total=False):
    timeout: float
    retry: RetryPolicy
    budget: Budget
    sleep: Callable[[float], None]


@pytest.fixture
def serve() -> Iterator[Serve]:
    servers: list[ScriptedServer] = []

    def _serve(script: Mapping[str, Sequence[StepLike]], **kwargs: Unpack[ServerOptions]) -> ScriptedServer:
        server = ScriptedServer(script, **kwargs).start()
        servers.append(server)
        return server

    yield _serve
    for server in servers:
        server.stop()


def model_for(server: ScriptedServer, **kwargs: Unpack[ModelOptions]) -> OpenAIChatModel:
    options: ModelOptions = {"retry": FAST, "timeout": 5.0}
    options.update(kwargs)
    return OpenAIChatModel(model="scripted:test", api_key="test-key", base_url=server.url, **options)


@pytest.mark.parametrize("fault", ["429", "500", "503"])
def test_transient_http_error_then_ok_is_retried(serve: Serve, fault: str) -> None:
    server = serve({"answer": [fault, OK]})
    model = model_for(server)
    reply = model.complete_json(ASK, Answer, purpose="answer")
    assert reply == Answer.model_validate(OK)
    assert server.served("answer") == 2
    assert model.usage.calls == 2


def test_timeout_then_ok_is_retried(serve: Serve) -> None:
    server = serve({"answer": ["timeout", OK]}, hang_seconds=10.0)
    model = model_for(server, timeout=0.5)
    assert model.complete_json(ASK, Answer, purpose="answer") == Answer.model_validate(OK)
    assert server.served("answer") == 2


@pytest.mark.parametrize(
    ("fault", "told"),
    [
        ("garbage", "not valid JSON"),
        ("wrong-schema", "does not match the Answer schema"),
        ("truncated", "cut off"),
    ],
)
def test_unusable_reply_then_ok_is_asked_again_with_the_error(serve: Serve, fault: str, told: str) -> None:
    server = serve({"answer": [fault, OK]})
    model = model_for(server)
    assert model.complete_json(ASK, Answer, purpose="answer") == Answer.model_validate(OK)
    first, second = server.requests
    assert told not in first.text()
    last_message = second.messages[-1]
    assert last_message["role"] == "user"
    assert told in last_message["content"]
    assert second.messages[-2]["role"] == "assistant"  # the bad reply is shown back to the model


def test_fenced_json_is_accepted(serve: Serve) -> None:
    server = serve({"answer": ['```json\n{"value": 1, "reason": "fenced"}\n```']})
    assert model_for(server).complete_json(ASK, Answer, purpose="answer") == Answer(value=1, reason="fenced")


def test_permanent_server_error_raises_model_error_after_retries(serve: Serve) -> None:
    server = serve({"answer": ["500"]})
    model = model_for(server)
    with pytest.raises(ModelError) as caught:
        model.complete_json(ASK, Answer, purpose="answer")
    assert "failed the answer call 4 times" in caught.value.one_line()
    assert "HTTP 500" in caught.value.one_line()
    assert server.served("answer") == FAST.max_retries + 1


def test_permanent_garbage_raises_model_error_after_reasks(serve: Serve) -> None:
    server = serve({"answer": ["garbage"]})
    with pytest.raises(ModelError, match="no valid answer reply in 3 tries: the reply is not valid JSON"):
        model_for(server).complete_json(ASK, Answer, purpose="answer")
    assert server.served("answer") == FAST.max_reasks + 1


def test_permanent_timeout_raises_model_error(serve: Serve) -> None:
    server = serve({"answer": ["timeout"]}, hang_seconds=10.0)
    model = model_for(server, timeout=0.3, retry=RetryPolicy(max_retries=1, backoff=0.01))
    with pytest.raises(ModelError, match="timed out"):
        model.complete_json(ASK, Answer, purpose="answer")


@pytest.mark.parametrize("status", ["400", "401", "404"])
def test_client_error_is_not_retried(serve: Serve, status: str) -> None:
    server = serve({"answer": [status, OK]})
    with pytest.raises(ModelError, match=f"refused the answer request: HTTP {status}"):
        model_for(server).complete_json(ASK, Answer, purpose="answer")
    assert server.served("answer") == 1


def test_unreachable_endpoint_raises_model_error() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    model = OpenAIChatModel(
        model="m", api_key="k", base_url=f"http://127.0.0.1:{port}/v1", retry=RetryPolicy(max_retries=1, backoff=0.01)
    )
    with pytest.raises(ModelUnavailableError) as caught:
        model.complete_json(ASK, Answer, purpose="answer")
    assert caught.value.one_line().startswith(
        f"model endpoint http://127.0.0.1:{port}/v1 unreachable: connection failed"
    )
    assert "(2 tries of the answer call)" in caught.value.one_line()
    assert model.usage.calls == 2
    with pytest.raises(ModelUnavailableError, match=f"http://127.0.0.1:{port}/v1 does not answer"):
        model.ping(timeout=2.0)  # the preflight's one cheap call
    assert model.usage.calls == 2  # a ping is no model call


@pytest.mark.parametrize("status", ["502", "503", "504"])
def test_an_endpoint_that_is_down_is_an_outage_not_a_bad_reply(serve: Serve, status: str) -> None:
    server = serve({"answer": [status]})
    with pytest.raises(ModelUnavailableError, match=f"unreachable: HTTP {status}"):
        model_for(server).complete_json(ASK, Answer, purpose="answer")
    assert server.served("answer") == FAST.max_retries + 1


def test_a_500_is_a_failed_request_not_an_outage(serve: Serve) -> None:
    server = serve({"answer": ["500"]})
    with pytest.raises(ModelError) as caught:
        model_for(server).complete_json(ASK, Answer, purpose="answer")
    assert not isinstance(caught.value, ModelUnavailableError)


def test_a_ping_of_a_live_endpoint_passes(serve: Serve) -> None:
    server = serve({"answer": [OK]})
    model_for(server).ping()
    assert server.served("answer") == 0


def test_the_endpoint_shown_never_carries_credentials() -> None:
    model = OpenAIChatModel(model="m", api_key="k", base_url="https://user:s3cret@gw.example/v1?key=s3cret")
    assert model.endpoint == "https://gw.example/v1"


def test_request_asks_for_the_json_schema_named_by_purpose(serve: Serve) -> None:
    server = serve({"answer": [OK]})
    model_for(server).complete_json(ASK, Answer, purpose="answer")
    body = server.requests[0].body
    assert body["model"] == "scripted:test"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "answer"
    assert body["response_format"]["json_schema"]["schema"] == Answer.model_json_schema()
    assert body["messages"] == [{"role": "user", "content": ASK[0].content}]


def test_usage_counts_calls_and_tokens_of_every_reply(serve: Serve) -> None:
    server = serve({"answer": ["500", OK]})
    model = model_for(server)
    model.complete_json(ASK, Answer, purpose="answer")
    model.complete_json(ASK, Answer, purpose="answer")
    assert model.usage.calls == 3  # a failed call is still a call
    assert model.usage.prompt_tokens > 0
    assert model.usage.completion_tokens > 0


def test_usage_is_shared_by_parallel_callers(serve: Serve) -> None:
    server = serve({"answer": [OK]}, latency=0.05)
    model = model_for(server)
    threads = [
        threading.Thread(target=model.complete_json, args=(ASK, Answer), kwargs={"purpose": "answer"}) for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert model.usage.calls == 6
    assert server.served("answer") == 6


def test_call_budget_stops_further_calls(serve: Serve) -> None:
    server = serve({"answer": ["500"]})
    model = model_for(server, budget=Budget(max_calls=2))
    with pytest.raises(BudgetExceededError, match=r"2 calls \(limit 2\)") as caught:
        model.complete_json(ASK, Answer, purpose="answer")
    assert isinstance(caught.value, ModelError)  # callers that degrade on ModelError degrade on it too
    assert server.served("answer") == 2


def test_token_budget_stops_further_calls(serve: Serve) -> None:
    server = serve({"answer": [OK]})
    model = model_for(server, budget=Budget(max_tokens=1))
    model.complete_json(ASK, Answer, purpose="answer")  # the first call spends more than the cap
    with pytest.raises(BudgetExceededError, match="tokens"):
        model.complete_json(ASK, Answer, purpose="answer")
    assert server.served("answer") == 1


def test_api_key_is_never_logged_nor_shown(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    key = "sk-canary-3f9a1c7e5d"
    server = serve({"answer": ["429", "garbage", OK]})
    model = OpenAIChatModel(model="m", api_key=key, base_url=server.url, retry=FAST)
    with caplog.at_level(logging.DEBUG):
        model.complete_json(ASK, Answer, purpose="answer")
    assert caplog.records  # the retry and the re-ask were logged
    assert key not in caplog.text
    assert key not in repr(model)
    assert all(key not in r.text() for r in server.requests)


def test_purpose_is_made_a_valid_schema_name(serve: Serve) -> None:
    server = serve({"five_whys_v2": [OK]})
    model_for(server).complete_json(ASK, Answer, purpose="five whys/v2")
    assert server.requests[0].purpose == "five_whys_v2"


def test_retries_back_off_exponentially_with_bounded_jitter(serve: Serve) -> None:
    server = serve({"answer": ["500", "429", "500", OK]})
    waits: list[float] = []
    policy = RetryPolicy(max_retries=3, backoff=1.0, max_backoff=20.0)
    model = model_for(server, retry=policy, sleep=waits.append)  # record the waits instead of sleeping
    assert model.complete_json(ASK, Answer, purpose="answer") == Answer.model_validate(OK)
    assert len(waits) == 3
    for attempt, wait in enumerate(waits):
        base = 2.0**attempt
        assert base <= wait <= base * 1.5


def test_backoff_is_capped_and_honours_retry_after() -> None:
    policy = RetryPolicy(backoff=1.0, max_backoff=4.0)
    assert 4.0 <= policy.delay(10) <= 6.0
    assert policy.delay(0, retry_after=9.0) == 9.0
    assert policy.delay(0, retry_after=3600.0) == 30.0  # a huge Retry-After is capped


def test_missing_key_is_a_config_error_not_a_vendor_error() -> None:
    with pytest.raises(ConfigError, match="cannot build the model client for openai:m"):
        OpenAIChatModel(model="m", api_key="")
