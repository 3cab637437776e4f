"""Cost and caps: the run's model usage, its estimated price, and the findings a reached cap leaves.

A cap (``limits.max_llm_calls``, ``limits.max_tokens``) is enforced by the model client
(``BudgetExceededError``); the graph turns it into a ``budget-exceeded`` finding, stops
asking the model on that branch and ends the run ``gave_up`` with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fixloop.records import Finding

BUDGET_FINDING = "budget-exceeded"


def budget_finding(error: Exception, purpose: str) -> Finding:
    text = getattr(error, "one_line", lambda: str(error))()
    return Finding(kind=BUDGET_FINDING, message=f"{purpose}: {text}", severity="error")


def is_budget_error(error: Exception) -> bool:
    from fixloop.integrations.llm import BudgetExceededError

    return isinstance(error, BudgetExceededError)


def budget_reason(findings: Sequence[Finding]) -> str:
    """The first cap reached in ``findings``, or ""."""
    return next((f.message for f in findings if f.kind == BUDGET_FINDING), "")


def estimate_usd(
    model_name: str, prompt_tokens: int, completion_tokens: int, prices: Mapping[str, Any]
) -> float | None:
    """Estimated cost from ``llm.prices`` (model -> ($ per 1M prompt tokens, $ per 1M completion tokens))."""
    bare = model_name.split(":", 1)[-1]
    price = prices.get(model_name) or prices.get(bare)
    if price is None:
        return None
    per_in, per_out = price
    return round((prompt_tokens * per_in + completion_tokens * per_out) / 1_000_000, 6)


def usage_doc(model: Any, prices: Mapping[str, Any]) -> dict[str, Any]:
    """run.json's ``cost``: calls, tokens and the estimated price of the model this process drove."""
    usage = getattr(model, "usage", None)
    if usage is None:
        return {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "tokens": 0, "estimated_usd": 0.0}
    name = str(getattr(model, "name", ""))
    return {
        "model": name,
        "calls": usage.calls,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "tokens": usage.prompt_tokens + usage.completion_tokens,
        "estimated_usd": estimate_usd(name, usage.prompt_tokens, usage.completion_tokens, prices),
    }
