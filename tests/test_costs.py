"""Cost caps: a token cap reached mid-run ends the run gave_up with the reason; usage and price are reported."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixloop.costs import budget_reason, category_costs, estimate_usd, run_cost, usage_table
from fixloop.demo import run_demo
from fixloop.interfaces import ModelUsage
from fixloop.records import Finding
from fixloop.state import CategoryUsage


@pytest.fixture
def out(demo_out: Path) -> Path:
    """The run's output folder (``demo_out``: its demo target is stopped afterwards)."""
    return demo_out


def test_prices_per_million_tokens() -> None:
    prices = {"gpt-4.1-mini": (0.4, 1.6)}
    assert estimate_usd("openai:gpt-4.1-mini", 1_000_000, 500_000, prices) == pytest.approx(1.2)
    assert estimate_usd("gpt-4.1-mini", 2000, 0, prices) == pytest.approx(0.0008)
    assert estimate_usd("other", 10, 10, prices) is None
    scripted = {"scripted": (1.0, 2.0)}  # one price for every scripted:<scenario> (the eval's illustrative one)
    assert estimate_usd("scripted:handshake-500", 1000, 1000, scripted) == pytest.approx(0.003)
    assert estimate_usd("handshake-500", 1000, 1000, scripted) is None


def test_usage_is_summed_per_category_and_priced() -> None:
    usage = [
        CategoryUsage(
            iteration=1, category_id="a", kind="server-error", calls=3, prompt_tokens=900, completion_tokens=90
        ),
        CategoryUsage(iteration=1, category_id="b", kind="timeout", calls=1, prompt_tokens=100, completion_tokens=10),
        # a rejected fix: category a is investigated again in the same iteration
        CategoryUsage(
            iteration=1, category_id="a", kind="server-error", calls=2, prompt_tokens=600, completion_tokens=60
        ),
        CategoryUsage(
            iteration=2, category_id="a", kind="server-error", calls=1, prompt_tokens=50, completion_tokens=5
        ),
    ]
    rows = category_costs(usage, "openai:gpt-x", {"gpt-x": (1.0, 2.0)})
    assert [(r["iteration"], r["category"], r["investigations"], r["calls"]) for r in rows] == [
        (1, "a", 2, 5),
        (1, "b", 1, 1),
        (2, "a", 1, 1),
    ]
    assert rows[0]["tokens"] == 1650 and rows[0]["estimated_usd"] == pytest.approx((1500 + 150 * 2) / 1_000_000)
    assert category_costs(usage[:1], "openai:unpriced", {})[0]["estimated_usd"] is None


def test_the_usage_table_shows_each_category_what_no_category_accounts_for_and_the_run_total() -> None:
    rows = category_costs(
        [
            CategoryUsage(
                iteration=1, category_id="a", kind="timeout", calls=2, prompt_tokens=1000, completion_tokens=100
            )
        ],
        "gpt-x",
        {"gpt-x": (1.0, 2.0)},
    )
    cost = {"calls": 3, "prompt_tokens": 1500, "completion_tokens": 150, "estimated_usd": 0.0018, "categories": rows}
    table = usage_table(cost)
    assert table[2] == "| 1 | `a` (timeout) | 2 | 1000 | 100 | $0.0012 |"
    assert table[3] == "| - | not attributed to a category | 1 | 500 | 50 | $0.0006 |"
    assert table[4] == "| | **run total** | 3 | 1500 | 150 | $0.0018 |"
    assert len(usage_table({**cost, "calls": 2, "prompt_tokens": 1000, "completion_tokens": 100})) == 4


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
    (usage,) = cost["categories"]  # the one call was the five whys of the one category
    assert usage["category"] == category["id"] and category["usage"] == usage
    assert (usage["calls"], usage["prompt_tokens"]) == (1, cost["prompt_tokens"])
    assert usage["estimated_usd"] == pytest.approx(expected)
    worklog = (out / "worklog.md").read_text(encoding="utf-8")
    assert f"Model cost so far: 1 calls, {cost['prompt_tokens']} prompt" in worklog
    assert f"| 1 | `{category['id']}` ({category['kind']}) | 1 | {cost['prompt_tokens']} |" in worklog
