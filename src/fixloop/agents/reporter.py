"""The run's report: ``OUT/run.json`` and ``OUT/worklog.md``, rewritten after every step.

Both are rendered from the graph state alone, redacted, and written atomically,
so a killed run leaves a readable worklog of everything up to its last step.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fixloop.agents.worklog_sections import render_worklog
from fixloop.atomic import write_text_atomic
from fixloop.redaction import Redactor
from fixloop.run_record import record_section, trust_markdown, trust_worklog
from fixloop.state import Investigation, RunInfo
from fixloop.text_trim import middle_at_lines

WORKLOG = "worklog.md"
RUN_JSON = "run.json"


def llm_label(run: RunInfo) -> dict[str, str]:
    """run.json's ``llm``: the scripted test double always says so."""
    if run.llm_mode == "scripted":
        model = run.model_name if run.model_name.startswith("scripted") else f"scripted:{run.model_name or 'replay'}"
        return {"mode": "scripted", "model": model}
    return {"mode": run.llm_mode, "model": run.model_name}


def run_json(state: Mapping[str, Any], *, error: str | None = None) -> dict[str, Any]:
    """The run.json document (issue #2 schema) for a graph state."""
    run: RunInfo = state["run"]
    investigations: list[Investigation] = list(state.get("investigations", []))
    iterations = []
    for rec in state.get("iterations", []):
        invs = {inv.category.id: inv for inv in investigations if inv.iteration == rec.iteration}
        categories = []
        for category in rec.categories:
            inv = invs.get(category.id)
            categories.append(
                {
                    "id": category.id,
                    "kind": category.kind,
                    "title": category.title,
                    "tests": category.tests,
                    "signature": category.signature.model_dump(mode="json"),
                    "findings": [f.model_dump(mode="json") for f in category.findings],
                    "five_whys": _dump(inv.five_whys if inv else None),
                    "evidence": _dump(inv.evidence if inv else None),
                    "fix": _dump(inv.fix if inv else None),
                    "attempts": [a.model_dump(mode="json") for a in inv.attempts] if inv else [],
                    "audit": _dump(inv.audit if inv else None),
                    "pr": _dump(inv.pr if inv else None),
                    "outcome": inv.outcome if inv else "pending",
                    "report": inv.report if inv else "",  # why a report and no code fix ("" = may be fixed)
                    "covered_by": inv.covered_by if inv else "",  # the category whose PR carries this fix too
                    "investigation_started": inv.started_at.isoformat() if inv else None,
                    "investigation_finished": inv.finished_at.isoformat() if inv and inv.finished_at else None,
                    "investigation_findings": [f.model_dump(mode="json") for f in inv.findings] if inv else [],
                }
            )
        test_run = rec.test_run
        iterations.append(
            {
                "iteration": rec.iteration,
                "revision": rec.revision,
                "selected_tests": rec.selection.test_targets() if rec.selection else [],
                "selection": _dump(rec.selection),
                "command": test_run.command if test_run else [],
                "counts": test_run.counts() if test_run else {},
                "results": [_result(r) for r in test_run.results] if test_run else [],
                "collection_errors": test_run.collection_errors if test_run else [],
                "never_ran": test_run.never_ran if test_run else [],
                "pytest_rounds": test_run.rounds if test_run else 0,
                "child_exits": [e.model_dump(mode="json") for e in test_run.child_exits] if test_run else [],
                "realness_findings": [f.model_dump(mode="json") for f in rec.findings],
                "tiers": [v.model_dump(mode="json") for v in rec.verdicts],
                "categories": categories,
                "reruns": [r.model_dump(mode="json") for r in rec.reruns],
                "tiers_run": rec.tiers_run,  # the phase: which tiers this iteration's test run covered
            }
        )
    doc: dict[str, Any] = {
        "thread_id": run.thread_id,
        "focus": run.focus,
        "repo": run.repo,
        "status": "error" if error else state.get("status", "running"),
        "outcome": error or state.get("outcome", ""),
        "requested_by": run.requested_by,
        "source": run.source,
        "stop_at": run.stop_at,
        "scenario": run.scenario,
        "llm": llm_label(run),
        "started_at": run.started_at.isoformat(),
        "iteration": state.get("iteration", 0),
        "iterations": iterations,
        "prs": [pr.model_dump(mode="json") for pr in state.get("prs", [])],
        "approvals": [a.model_dump(mode="json") for a in state.get("approvals", [])],
        "deploys": [d.model_dump(mode="json") for d in state.get("deploys", [])],
        "events": [e.model_dump(mode="json", exclude={"detail"}) for e in state.get("events", [])],
    }
    return doc


def _dump(record: Any) -> Any:
    return record.model_dump(mode="json") if record is not None else None


def _result(result: Any) -> dict[str, Any]:
    data: dict[str, Any] = result.model_dump(mode="json", exclude={"stdout", "stderr", "log"})
    data["longrepr"] = _trim(data.get("longrepr", ""), 4000)
    return data


def _trim(text: str, limit: int) -> str:
    return middle_at_lines(text, limit)


def redact_tree(value: Any, redactor: Redactor) -> Any:
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, list):
        return [redact_tree(v, redactor) for v in value]
    if isinstance(value, dict):
        return {k: redact_tree(v, redactor) for k, v in value.items()}
    return value


def write_report(
    state: Mapping[str, Any],
    out_dir: Path,
    redactor: Redactor,
    *,
    error: str | None = None,
    cost: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write run.json and worklog.md for ``state`` (redacted, atomically); return the run.json document."""
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = redact_tree(run_json(state, error=error), redactor)
    doc.update(redact_tree(record_section(state, out_dir, redactor.redact), redactor))
    if cost is not None:
        attach_cost(doc, cost)
    write_text_atomic(out_dir / RUN_JSON, json.dumps(doc, indent=2, default=str) + "\n")
    worklog = render_worklog(state, error=error) + trust_worklog(state, cost)
    write_text_atomic(out_dir / WORKLOG, redactor.redact(worklog))
    return doc


def attach_cost(doc: dict[str, Any], cost: dict[str, Any]) -> None:
    """Put ``cost`` into the run.json ``doc``; each category gets its line of ``cost.categories`` as ``usage``
    (None: not investigated)."""
    doc["cost"] = cost
    by_key = {(u["iteration"], u["category"]): u for u in cost.get("categories", [])}
    for iteration in doc["iterations"]:
        for category in iteration["categories"]:
            category["usage"] = by_key.get((iteration["iteration"], category["id"]))


def pr_body(run: RunInfo, inv: Investigation, covered: Sequence[Investigation] = ()) -> str:
    """A PR body: the model used, the five whys with evidence, the audit, the tests before and after.

    ``covered``: other categories of the same fault whose (equal or contained) fix this PR carries too.
    """
    from fixloop.agents.worklog_sections import five_whys_markdown

    label = llm_label(run)
    lines = [
        f"Automated fix by fixloop for category `{inv.category.id}` ({inv.category.kind}) of run `{run.thread_id}`.",
        "",
        *_covered_section(inv, covered),
        f"**Model:** {label['mode']} `{label['model']}`"
        + (" — a scripted test double, not a real model" if label["mode"] == "scripted" else ""),
        f"**Requested by:** {run.requested_by} via {run.source}",
        "",
        "## Five whys",
        five_whys_markdown(inv),
        "",
        "## Fix",
        inv.fix.summary if inv.fix else "(none)",
        "",
        "## Tests",
        f"- before: failing {', '.join(f'`{t}`' for t in _tests(inv, covered)) or '(none)'}",
        f"- after (in an isolated worktree against a target started from it): {inv.fix.validation if inv.fix else ''}",
        "",
        "## SSOT audit",
    ]
    if inv.audit is None:
        lines.append("(not run)")
    else:
        lines.append(f"{'passed' if inv.audit.passed else 'failed'} ({inv.audit.reviewer})")
        lines.extend(f"- {f.check}: {f.message}" for f in inv.audit.findings)
    lines.extend(["", "## Trust", *trust_markdown(run, inv)])
    return "\n".join(lines) + "\n"


def _covered_section(inv: Investigation, covered: Sequence[Investigation]) -> list[str]:
    if not covered:
        return []
    lines = [f"**One fault, one PR:** this fix also covers {len(covered)} more categories of the same kind:", ""]
    for item in [inv, *covered]:
        c = item.category
        lines.append(f"- `{c.id}` ({c.kind}): {c.title} — {len(c.tests)} tests")
    return [*lines, ""]


def _tests(inv: Investigation, covered: Sequence[Investigation]) -> list[str]:
    return list(dict.fromkeys(t for item in [inv, *covered] for t in item.category.tests))
