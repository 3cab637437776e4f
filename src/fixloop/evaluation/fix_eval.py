"""The fix eval: each scenario end to end through the whole loop, scored from its run.json.

Per scenario (in its own work folder, ``FIXLOOP_HOME`` and target port): copy the example, commit
the fault, start the target (a failed start is part of some scenarios), start a run
(``fixloop.runs.start_run``) requested by ``eval``; while it waits for approval, approve it as the
first configured approver who is not the requester (``fixloop.runs.approve_run``: four-eyes holds),
so it merges, deploys and re-tests. Then score the run.json (``fix_metrics.score_run``).

With ``--llm scripted`` the model's replies are derived from each scenario's gold patch: the eval
then measures the plumbing (does a right answer travel through triage, validation, audit, PR,
approval, merge, deploy and re-test to green), not a model.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

from fixloop.config import Settings, load_settings
from fixloop.errors import ConfigError, FixloopError, TargetError
from fixloop.evaluation.fix_metrics import FixRow, expected_end, score_run
from fixloop.integrations.llm import build_model
from fixloop.runs import RunRequest, approve_run, run_status, start_run
from fixloop.scenarios import Scenario, example_dir, prepare_workspace
from fixloop.target import start_target, stop_target
from fixloop.vocabulary import LLMMode

LLMChoice = LLMMode
REQUESTED_BY = "eval"
SCRIPTED_NOTE = (
    "the scripted model's replies are derived from each scenario's gold patch, so these figures measure "
    "the plumbing, not a model (triage, evidence, validation, SSOT audit, PR, approval, merge, deploy, re-test)"
)
# The scripted double has no price of its own; the eval gives every ``scripted:<scenario>`` this one so
# that the cost figures are not zero. It is ILLUSTRATIVE ($ per 1M prompt / completion tokens, in the range
# of a small hosted model's list price): it checks the cost plumbing, it is no model's bill.
SCRIPTED_PRICES: dict[str, tuple[float, float]] = {"scripted": (0.40, 1.60)}


def evaluate_fix_scenario(scenario: Scenario, folder: Path, llm: LLMChoice) -> FixRow:
    """One scenario through the whole loop; errors of the machinery go into the row, never raised."""
    started = time.monotonic()
    row = FixRow(
        scenario=scenario.name,
        llm=llm,
        expected_kinds=sorted(scenario.expected_kinds),
        expected_file=scenario.expected_file,
        expected_end=expected_end(scenario),
        out_dir=str(folder / "out"),
    )
    workspace = folder / "workspace"
    try:
        prepare_workspace(workspace, scenario)
        _start_target(workspace)
        request = RunRequest(
            repo=workspace,
            focus=scenario.focus,
            requested_by=REQUESTED_BY,
            source="api",
            llm=llm,
            out_dir=folder / "out",
            scenario=scenario.name,
            prices=SCRIPTED_PRICES if llm == "scripted" else {},
        )
        thread_id = start_run(request)
        doc = _approve_until_done(thread_id, load_settings(workspace))
        score_run(row, scenario, doc)
    except Exception as exc:  # the eval reports a broken scenario and goes on
        row.error = (exc.one_line() if isinstance(exc, FixloopError) else f"{type(exc).__name__}: {exc}")[:300]
    finally:
        if workspace.exists():
            stop_target(workspace)
        row.seconds = round(time.monotonic() - started, 1)
    return row


def _start_target(workspace: Path) -> None:
    """Start the broken target; a fault that keeps it from starting is what the run diagnoses."""
    with contextlib.suppress(TargetError):
        start_target(workspace)


def _approve_until_done(thread_id: str, settings: Settings) -> dict[str, Any]:
    """Approve every time the run waits (as an approver who did not request it); the final run.json."""
    doc = run_status(thread_id)
    approver = approver_for(settings)
    for _ in range(settings.limits.max_iterations + 1):
        if doc.get("status") != "awaiting_approval":
            break
        doc = approve_run(thread_id, by=approver, source="api")
    return run_status(thread_id)


def approver_for(settings: Settings) -> str:
    """The first configured approver who is not the eval (the requester)."""
    for name in settings.approval.approvers:
        if name.strip().casefold() != REQUESTED_BY:
            return name
    raise ConfigError("the eval needs an approver other than 'eval' in approval.approvers")


def price_note(llm: LLMChoice) -> str:
    """Where the eval's estimated cost comes from, for the table's footer and the JSON."""
    if llm == "scripted":
        per_in, per_out = SCRIPTED_PRICES["scripted"]
        return (
            f"illustrative ${per_in:.2f} / ${per_out:.2f} per 1M prompt / completion tokens given to the scripted "
            "double by the eval only, to exercise the cost plumbing (not a real model's cost)"
        )
    if llm == "openai":
        return "llm.prices of the target's settings for the configured model"
    return ""


def check_model_configured(llm: LLMChoice) -> str:
    """The model's name for ``llm``; a clear ConfigError when ``openai`` has no endpoint or key."""
    if llm == "none":
        return ""
    if llm == "scripted":
        return "scripted (replies derived from each scenario's gold.patch)"
    settings = load_settings(example_dir())
    endpoint = settings.llm.base_url or os.environ.get("OPENAI_BASE_URL", "").strip()
    if not endpoint:
        raise ConfigError(
            "--llm openai needs a model endpoint and none is configured",
            hint="set llm.base_url in fixloop.toml or FIXLOOP_LLM__BASE_URL (or OPENAI_BASE_URL)",
        )
    model = build_model(settings.model_copy(update={"llm": settings.llm.model_copy(update={"mode": "openai"})}))
    close = getattr(model, "close", None)
    if callable(close):
        close()
    return f"openai:{settings.llm.model} at {endpoint}"
