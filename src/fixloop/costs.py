"""Cost and caps: the run's model usage, its estimated price, and the findings a reached cap leaves.

A cap (``limits.max_llm_calls``, ``limits.max_tokens``) is enforced by the model client
(``BudgetExceededError``); the graph turns it into a ``budget-exceeded`` finding, stops
asking the model on that branch and ends the run ``gave_up`` with the reason.
"""

from __future__ import annotations

import json
import os
import uuid
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
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


COST_FILE = "cost.json"
_KEYS: dict[int, str] = {}  # live model object -> its share's key in cost.json


def run_cost(out_dir: Path, model: Any, prices: Mapping[str, Any]) -> dict[str, Any]:
    """The whole run's cost so far: this process's model usage is kept in ``OUT/cost.json`` beside the
    usage of the processes that drove the run before (start, then approve, resume...), and summed."""
    if model is None:
        shares: dict[str, Any] = _read_shares(out_dir)
    else:
        key = _share_key(model)
        shares = _read_shares(out_dir)
        shares[key] = usage_doc(model, prices)
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = out_dir / f".{COST_FILE}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(shares, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, out_dir / COST_FILE)
    total: dict[str, Any] = {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "tokens": 0}
    priced: float | None = 0.0
    for share in shares.values():
        for name in total:
            total[name] += int(share.get(name, 0))
        price = share.get("estimated_usd")
        priced = None if price is None or priced is None else priced + float(price)
    total["estimated_usd"] = round(priced, 6) if priced is not None else None
    total["processes"] = len(shares)
    return total


def _read_shares(out_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((out_dir / COST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _share_key(model: Any) -> str:
    """A key per model object (one per process that drove the run), dropped when the object goes."""
    ident = id(model)
    if ident not in _KEYS:
        _KEYS[ident] = uuid.uuid4().hex
        weakref.finalize(model, _KEYS.pop, ident, None)
    return _KEYS[ident]
