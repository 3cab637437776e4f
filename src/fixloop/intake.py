"""Intake: what was asked, as the state's ``RunInfo``, from the CLI's record or from JSON.

``runs.py`` hands the graph a ``RunInfo`` it built here; LangGraph Server hands it the JSON a client
sent (``{"run": {"focus": "chat", "requested_by": "alice"}}``). Either way the intake node calls
``run_info``: the fields the client left out come from the run's context and settings (ids, paths,
model, limits, gates), and the result is validated, or the run stops with one clear line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from fixloop.autonomy import level_for
from fixloop.context import RunContext
from fixloop.errors import RunInputError
from fixloop.state import InvestigationInput, RunInfo

FIXED_BY_CONTEXT = ("thread_id", "repo", "out_dir")  # the context says where the run works; input may not differ


def run_info(raw: Any, ctx: RunContext) -> RunInfo:
    """``raw`` (a ``RunInfo``, or its JSON with at least ``focus``) completed from ``ctx`` and validated."""
    if isinstance(raw, RunInfo):
        return raw
    if not isinstance(raw, dict) or not isinstance(raw.get("focus"), str) or not raw["focus"]:
        raise RunInputError(
            "the run's input needs a focus: {'run': {'focus': NAME, ...}}", hint=f"got {type(raw).__name__}"
        )
    settings = ctx.settings
    defaults: dict[str, Any] = {
        "thread_id": ctx.thread_id,
        "repo": str(ctx.repo),
        "out_dir": str(ctx.out_dir),
        "config_file": ctx.config_file,
        "llm_mode": ctx.llm,
        "model_name": ctx.model.name if ctx.model is not None else "",
        "stop_at": ctx.stop_at or level_for(settings, raw["focus"]),
        "max_iterations": settings.limits.max_iterations,
        "max_fix_attempts": settings.limits.max_fix_attempts,
        "max_seconds": settings.limits.max_seconds,
        "scenario": ctx.scenario,
        "gates": dict(settings.autonomy.gates),
        "stress_runs": settings.limits.stress_runs,
    }
    for key in FIXED_BY_CONTEXT:
        if key in raw and str(raw[key]) != defaults[key]:
            raise RunInputError(f"the run's input says {key} {raw[key]!r}, its context {defaults[key]!r}")
    try:
        return RunInfo.model_validate({**defaults, **raw})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise RunInputError(f"bad run input: {problems}") from None


def investigation_input(state: Mapping[str, Any]) -> dict[str, Any]:
    """The investigation subgraph's input as records: {} when it already is (sent by the remediation
    graph), else the validated records (JSON sent to LangGraph Server's ``investigation`` graph)."""
    raw = {key: state[key] for key in InvestigationInput.__annotations__ if key in state}
    if all(not isinstance(value, dict) for value in raw.values()) and len(raw) == len(
        InvestigationInput.__annotations__
    ):
        return {}
    try:
        return dict(_INVESTIGATION_INPUT.validate_python(raw))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise RunInputError(f"bad investigation input: {problems}") from None


_INVESTIGATION_KEYS = tuple(InvestigationInput.__annotations__)
_INVESTIGATION_INPUT: TypeAdapter[InvestigationInput] = TypeAdapter(InvestigationInput)
