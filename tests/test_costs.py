"""Cost caps: a token cap reached mid-run ends the run gave_up with the reason; usage and price are reported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixloop.costs import budget_reason, estimate_usd
from fixloop.demo import run_demo
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
