"""Model usage is attributed to the block (the graph node) that caused it, also across parallel threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from pydantic import BaseModel

from fixloop.integrations.llm.openai_chat import Budget, BudgetExceededError, OpenAIChatModel, RetryPolicy
from fixloop.integrations.llm.scripted_server import ScriptedServer
from fixloop.interfaces import ChatMessage
from fixloop.records import UsageRecord
from fixloop.usage_meter import metered

ASK = [ChatMessage("user", "Reply as JSON.")]


class Reply(BaseModel):
    value: int


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer({"answer": ["500", {"value": 1}]}, model="scripted:meter") as running:
        yield running


def model_on(server: ScriptedServer, budget: Budget | None = None) -> OpenAIChatModel:
    retry = RetryPolicy(max_retries=2, backoff=0.01)
    return OpenAIChatModel(model="scripted:meter", api_key="test-key", base_url=server.url, retry=retry, budget=budget)


def test_a_meter_counts_the_calls_and_tokens_of_its_block_only(server: ScriptedServer) -> None:
    model = model_on(server)
    model.complete_json(ASK, Reply, purpose="answer")  # outside any meter: the 500 then the reply
    with metered() as outer:
        with metered() as inner:
            model.complete_json(ASK, Reply, purpose="answer")
        model.complete_json(ASK, Reply, purpose="answer")
    assert inner.usage.calls == 1 and inner.usage.prompt_tokens > 0 and inner.usage.completion_tokens > 0
    assert outer.usage.calls == 2 and outer.usage.tokens == 2 * inner.usage.tokens
    assert model.usage.calls == 4  # the client's run-wide counters still see everything
    assert model.usage.prompt_tokens == 3 * inner.usage.prompt_tokens


def test_parallel_threads_each_see_only_their_own_calls(server: ScriptedServer) -> None:
    model = model_on(server)
    model.complete_json(ASK, Reply, purpose="answer")  # past the scripted 500
    seen: dict[int, UsageRecord] = {}

    def branch(calls: int) -> None:
        with metered() as meter:
            for _ in range(calls):
                model.complete_json(ASK, Reply, purpose="answer")
        seen[calls] = meter.usage

    threads = [threading.Thread(target=branch, args=(n,)) for n in (1, 2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {n: u.calls for n, u in seen.items()} == {1: 1, 2: 2, 3: 3}
    assert seen[3].prompt_tokens == 3 * seen[1].prompt_tokens


def test_usage_before_a_cap_is_kept_when_the_block_raises(server: ScriptedServer) -> None:
    model = model_on(server, Budget(max_tokens=1))
    with metered() as meter, pytest.raises(BudgetExceededError):
        model.complete_json(ASK, Reply, purpose="answer")  # the 500, the reply (over the cap)...
        model.complete_json(ASK, Reply, purpose="answer")  # ...and this one is refused
    assert meter.usage.calls == 2 and meter.usage.tokens > 1
