"""Cost and caps: the run's model usage, its estimated price, and the findings a reached cap leaves.

A cap (``limits.max_llm_calls``, ``limits.max_tokens``) is enforced by the model client
(``BudgetExceededError``); the graph turns it into a ``budget-exceeded`` finding, stops
asking the model on that branch and ends the run ``gave_up`` with the reason.

Usage per category comes from the state's ``usage`` list (one entry per investigation, counted by
``usage_meter``); the run total from ``OUT/cost.json`` (every process that drove the run).
"""

from __future__ import annotations

import json
import uuid
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fixloop.atomic import write_text_atomic
from fixloop.records import Finding, UsageRecord

if TYPE_CHECKING:  # state imports run_record, which renders the usage table from here
    from fixloop.state import CategoryUsage

BUDGET_FINDING = "budget-exceeded"


def budget_finding(error: Exception, purpose: str) -> Finding:
    text = getattr(error, "one_line", lambda: str(error))()
    return Finding(kind=BUDGET_FINDING, message=f"{purpose}: {text}", severity="error")


def is_budget_error(error: Exception) -> bool:
    from fixloop.integrations.llm import BudgetExceededError

    return isinstance(error, BudgetExceededError)


OUTAGE_FINDING = "model-unavailable"
OUTAGE_OUTCOME = "not attempted: the model endpoint is unreachable"  # a fix attempt's outcome in an outage


def outage_finding(error: Exception, purpose: str) -> Finding:
    """The model endpoint is down (``ModelUnavailableError``): reported as an outage, never as "no patch"."""
    text = getattr(error, "one_line", lambda: str(error))()
    return Finding(kind=OUTAGE_FINDING, message=f"{purpose}: {text}", severity="error")


def is_outage(error: Exception) -> bool:
    from fixloop.errors import ModelUnavailableError

    return isinstance(error, ModelUnavailableError)


def outage_reason(findings: Sequence[Finding]) -> str:
    """The first model outage in ``findings``, or ""."""
    return next((f.message for f in findings if f.kind == OUTAGE_FINDING), "")


def stop_asking_reason(findings: Sequence[Finding]) -> str:
    """Why this branch asks the model nothing more: a cap reached or the endpoint down; "" otherwise."""
    return budget_reason(findings) or outage_reason(findings)


def budget_reason(findings: Sequence[Finding]) -> str:
    """The first cap reached in ``findings``, or ""."""
    return next((f.message for f in findings if f.kind == BUDGET_FINDING), "")


def estimate_usd(
    model_name: str, prompt_tokens: int, completion_tokens: int, prices: Mapping[str, Any]
) -> float | None:
    """Estimated cost from ``llm.prices`` (model -> ($ per 1M prompt tokens, $ per 1M completion tokens)).

    The price is looked up by the full name (``openai:gpt-4.1-mini``), then the bare model (``gpt-4.1-mini``),
    then the provider (``scripted`` for every ``scripted:<scenario>``)."""
    provider, _, bare = model_name.rpartition(":")
    price = prices.get(model_name) or prices.get(bare) or (prices.get(provider) if provider else None)
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
        write_text_atomic(out_dir / COST_FILE, json.dumps(shares, indent=2) + "\n")
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


def cost_doc(out_dir: Path, model: Any, prices: Mapping[str, Any], state: Mapping[str, Any]) -> dict[str, Any]:
    """run.json's ``cost``: the run total (``run_cost``) and ``categories`` (``category_costs``) of ``state``."""
    cost = run_cost(out_dir, model, prices)
    name = state["run"].model_name if "run" in state else str(getattr(model, "name", ""))
    cost["categories"] = category_costs(state.get("usage", []), name, prices)
    return cost


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


def category_costs(usage: Sequence[CategoryUsage], model_name: str, prices: Mapping[str, Any]) -> list[dict[str, Any]]:
    """run.json's ``cost.categories``: each category's calls, tokens and estimated price, summed over its
    investigations (a rejected fix investigates the same category again in the same iteration)."""
    totals: dict[tuple[int, str], tuple[str, int, UsageRecord]] = {}
    for entry in usage:
        key = (entry.iteration, entry.category_id)
        kind, count, used = totals.get(key, (entry.kind, 0, UsageRecord()))
        totals[key] = (kind, count + 1, used.plus(entry.calls, entry.prompt_tokens, entry.completion_tokens))
    return [
        {
            "iteration": iteration,
            "category": category_id,
            "kind": kind,
            "investigations": count,
            "calls": used.calls,
            "prompt_tokens": used.prompt_tokens,
            "completion_tokens": used.completion_tokens,
            "tokens": used.tokens,
            "estimated_usd": estimate_usd(model_name, used.prompt_tokens, used.completion_tokens, prices),
        }
        for (iteration, category_id), (kind, count, used) in totals.items()
    ]


def usage_table(cost: Mapping[str, Any]) -> list[str]:
    """The worklog's usage table: one row per category, the calls no category accounts for, the run total."""
    rows = list(cost.get("categories", []))
    lines = [
        "| iteration | category | calls | tokens in | tokens out | est. cost |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {r['iteration']} | `{r['category']}` ({r['kind']}) | {_usage_cells(r)} |" for r in rows]
    keys = ("calls", "prompt_tokens", "completion_tokens")
    rest = {k: int(cost.get(k, 0)) - sum(int(r[k]) for r in rows) for k in keys}
    if any(rest.values()):  # e.g. the calls of a step killed mid-way and run again on resume
        prices = [cost.get("estimated_usd"), *(r["estimated_usd"] for r in rows)]
        rest_usd = None if None in prices else round(prices[0] - sum(prices[1:]), 6)
        lines.append(f"| - | not attributed to a category | {_usage_cells({**rest, 'estimated_usd': rest_usd})} |")
    lines.append(f"| | **run total** | {_usage_cells(cost)} |")
    return lines


def _usage_cells(row: Mapping[str, Any]) -> str:
    price = row.get("estimated_usd")
    money = f"${price:.4f}" if price is not None else "-"
    return f"{row.get('calls', 0)} | {row.get('prompt_tokens', 0)} | {row.get('completion_tokens', 0)} | {money}"
