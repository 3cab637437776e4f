"""Cost caps: a token cap reached mid-run ends the run gave_up with the reason; usage and price are reported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixloop.costs import budget_reason, estimate_usd, run_cost
from fixloop.demo import run_demo
from fixloop.interfaces import ModelUsage
from fixloop.records import Finding
from fixloop.target import stop_target


@pytest.fixture
def out(tmp_path: Path) -> Iterator[Path]:
    out = tmp_path / "run"
    yield out
    if (out / "workspace").exists():
        stop_target(out / "workspace")


def test_prices_per_million_tokens() -> None:
    prices = {"gpt-4.1-mini": (0.4, 1.6)}
    assert estimate_usd("openai:gpt-4.1-mini", 1_000_000, 500_000, prices) == pytest.approx(1.2)
    assert estimate_usd("gpt-4.1-mini", 2000, 0, prices) == pytest.approx(0.0008)
    assert estimate_usd("other", 10, 10, prices) is None


def test_the_first_cap_reached_is_the_reason() -> None:
    findings = [
        Finding(kind="citation", message="x"),
        Finding(kind="budget-exceeded", message="fix attempt 1: model budget reached: 900 tokens (limit 1)"),
    ]
    assert budget_reason(findings).startswith("fix attempt 1: model budget reached")
    assert budget_reason(findings[:1]) == ""


@dataclass
class UsedModel:
    """What run_cost reads of a ChatModel: its name and usage counters."""

    name: str
    usage: ModelUsage


def test_the_run_cost_adds_up_every_process_that_drove_the_run(tmp_path: Path) -> None:
    prices = {"gpt-x": (1.0, 2.0)}
    first = UsedModel("openai:gpt-x", ModelUsage(calls=2, prompt_tokens=1000, completion_tokens=100))
    assert run_cost(tmp_path, first, prices)["tokens"] == 1100
    first.usage.calls = 3  # the same process calls again: its share is replaced, not added twice
    assert run_cost(tmp_path, first, prices)["calls"] == 3
    second = UsedModel("openai:gpt-x", ModelUsage(calls=1, prompt_tokens=500, completion_tokens=0))  # e.g. approve
    total = run_cost(tmp_path, second, prices)
    assert total["calls"] == 4 and total["tokens"] == 1600 and total["processes"] == 2
    assert total["estimated_usd"] == pytest.approx((1500 * 1.0 + 100 * 2.0) / 1_000_000)
    assert run_cost(tmp_path, None, prices)["calls"] == 4  # a process without a model adds nothing
    unpriced = UsedModel("openai:other", ModelUsage(calls=1))
    assert run_cost(tmp_path, unpriced, prices)["estimated_usd"] is None  # no price: no made-up number


@pytest.mark.slow
def test_a_token_cap_hit_mid_run_ends_the_run_gave_up_with_the_reason(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # settings come from the environment too: one token allows the first model call (five whys) and no other
    monkeypatch.setenv("FIXLOOP_LIMITS__MAX_TOKENS", "1")
    monkeypatch.setenv("FIXLOOP_LLM__PRICES", json.dumps({"scripted:handshake-500": [2.0, 8.0]}))
    run_demo(llm="scripted", out=out, stop_at="pr")
    doc = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert doc["status"] == "gave_up"
    assert "a cost cap was reached" in doc["outcome"] and "limit 1)" in doc["outcome"]
    category = doc["iterations"][0]["categories"][0]
    assert category["five_whys"]["method"] == "llm"  # the first call was made before the cap
    assert len(category["attempts"]) == 1 and "model budget reached" in category["attempts"][0]["outcome"]
    assert any(f["kind"] == "budget-exceeded" for f in category["investigation_findings"])
    cost = doc["cost"]
    assert cost["calls"] == 1 and cost["tokens"] > 1
    expected = (cost["prompt_tokens"] * 2.0 + cost["completion_tokens"] * 8.0) / 1_000_000
    assert cost["estimated_usd"] == pytest.approx(expected)
    assert doc["prs"] == []
    worklog = (out / "worklog.md").read_text(encoding="utf-8")
    assert f"Model cost so far: 1 calls, {cost['prompt_tokens']} prompt" in worklog
