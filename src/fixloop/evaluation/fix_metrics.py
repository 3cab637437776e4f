"""Score one finished run (its run.json document) against its scenario: the fix eval's metrics.

Pure functions over the run.json schema written by ``agents/reporter.py``: category kinds of the
first iteration, the expected file's rank in the main category's ranked locations, the five whys'
citation validity, and, with a model, whether a patch applied, the failing tests pass after the
merge, nothing regressed, the SSOT audit passed, and which files the fix touched.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from fixloop.agents.citations import citation_problems
from fixloop.records import EvidenceBundle, FiveWhys
from fixloop.scenarios import Scenario

_DIFF_PATH = re.compile(r"^\+\+\+ b/(?P<path>[^\t\n]+)", re.M)
PASSING = ("passed", "xfailed", "skipped")


class FixRow(BaseModel):
    """One scenario of the fix eval; ``None`` means "does not apply" (e.g. no model, nothing failed)."""

    scenario: str
    llm: str
    expected_kinds: list[str]
    found_kinds: list[str] = Field(default_factory=list)
    categories: int = 0  # categories of the first iteration (one investigation, maybe one PR, each)
    category_ok: bool = False
    expected_file: str
    rank: int | None = None
    top1: bool = False
    top3: bool = False
    citations_ok: bool = False
    citation_problems: list[str] = Field(default_factory=list)
    expected_end: str = "green"  # "green" (a gold patch is scripted) or "report" (flaky, infra: no code PR)
    patch_applied: bool | None = None
    failing_fixed: bool | None = None
    no_regression: bool | None = None
    audit_passed: bool | None = None
    files_touched: list[str] = Field(default_factory=list)
    gold_files: list[str] = Field(default_factory=list)
    files_match: bool | None = None
    prs: int = 0
    approvals: list[str] = Field(default_factory=list)  # "alice:approve"
    deploys: int = 0
    iterations: int = 0
    tokens_in: int | None = None  # None: the run did not record model usage
    tokens_out: int | None = None
    estimated_usd: float | None = None  # None: no usage recorded, or no price for the model (llm.prices)
    status: str = "error"
    outcome: str = ""
    as_expected: bool = False
    seconds: float = 0.0
    error: str = ""
    out_dir: str = ""


def gold_files(scenario: Scenario) -> list[str]:
    """Files the scenario's gold patch touches ([] when it has none)."""
    try:
        text = scenario.gold_patch.read_text(encoding="utf-8")
    except OSError:
        return []
    return list(dict.fromkeys(m.group("path") for m in _DIFF_PATH.finditer(text)))


def expected_end(scenario: Scenario) -> str:
    """``green`` when a gold patch is scripted for a deterministic code fault, else ``report`` (no code PR):
    a flaky fault, or an infrastructure failure (``report_only``) whose gold is the operator's change."""
    no_fix = scenario.flaky or scenario.extra.get("report_only") is True
    return "report" if no_fix or not gold_files(scenario) else "green"


def score_run(row: FixRow, scenario: Scenario, doc: dict[str, Any]) -> None:
    """Fill ``row`` from the run.json ``doc``."""
    iterations: list[dict[str, Any]] = doc.get("iterations", [])
    row.status = str(doc.get("status", "error"))
    row.outcome = str(doc.get("outcome", ""))
    row.iterations = len(iterations)
    row.prs = len(doc.get("prs", []))
    row.deploys = len(doc.get("deploys", []))
    row.approvals = [f"{a.get('by')}:{a.get('decision')}" for a in doc.get("approvals", [])]
    row.gold_files = gold_files(scenario)
    _score_usage(row, doc)
    if not iterations:
        return
    first, last = iterations[0], iterations[-1]
    _score_triage(row, scenario, first.get("categories", []))
    if row.llm != "none":
        _score_fix(row, first, last, len(iterations), fix_expected=expected_end(scenario) == "green")
    row.as_expected = _as_expected(row)


def _score_triage(row: FixRow, scenario: Scenario, categories: list[dict[str, Any]]) -> None:
    row.categories = len(categories)
    row.found_kinds = sorted({str(c["kind"]) for c in categories})
    row.category_ok = set(row.found_kinds) == set(scenario.expected_kinds)
    candidates = [c for c in categories if c["kind"] in scenario.expected_kinds]
    if not candidates:
        return
    main = max(candidates, key=lambda c: (len(c.get("tests", [])) or len(c.get("findings", [])), -categories.index(c)))
    evidence = main.get("evidence")
    ranked = [loc["file"] for loc in evidence.get("locations", [])] if evidence else []
    if scenario.expected_file in ranked:
        row.rank = ranked.index(scenario.expected_file) + 1
    row.top1 = row.rank == 1
    row.top3 = row.rank is not None and row.rank <= 3
    if main.get("five_whys") is None or evidence is None:
        row.citation_problems = ["no five whys recorded"]
        return
    row.citation_problems = citation_problems(
        FiveWhys.model_validate(main["five_whys"]), EvidenceBundle.model_validate(evidence)
    )
    row.citations_ok = not row.citation_problems


def _score_fix(row: FixRow, first: dict[str, Any], last: dict[str, Any], count: int, *, fix_expected: bool) -> None:
    """Patch, audit, files and regressions; "failing fixed" only where a fix is expected (not for a report)."""
    categories = first.get("categories", [])
    attempts = [a for c in categories for a in c.get("attempts", [])]
    proposed = [a for a in attempts if a.get("fix")]
    if attempts:
        row.patch_applied = any("not apply" not in a.get("outcome", "") for a in proposed)
    accepted = [c for c in categories if c.get("fix")]
    audits = [a["audit"] for a in attempts if a.get("audit")]
    if accepted:
        row.audit_passed = all(bool(c.get("audit") and c["audit"].get("passed")) for c in accepted)
    elif audits:
        row.audit_passed = False
    touched = [f for c in accepted for f in c["fix"].get("files", [])] or [
        f for a in proposed[-1:] for f in a["fix"].get("files", [])
    ]
    row.files_touched = list(dict.fromkeys(touched))
    if row.files_touched:  # nothing proposed: nothing to compare with the gold
        row.files_match = set(row.files_touched) == set(row.gold_files)
    failing = {r["nodeid"] for r in first.get("results", []) if r["outcome"] in ("failed", "error")}
    if failing and fix_expected:
        row.failing_fixed = count > 1 and failing <= _passing(last)
    if count > 1:
        row.no_regression = _no_regression(first, last)


def _passing(iteration: dict[str, Any]) -> set[str]:
    return {r["nodeid"] for r in iteration.get("results", []) if r["outcome"] in PASSING}


def _no_regression(first: dict[str, Any], last: dict[str, Any]) -> bool:
    """Every test that passed before still passes, and every tier that held still holds."""
    before = {r["nodeid"] for r in first.get("results", []) if r["outcome"] == "passed"}
    after = {r["nodeid"]: r["outcome"] for r in last.get("results", [])}
    if any(after.get(test, "passed") in ("failed", "error") for test in before):
        return False
    held = {t["name"] for t in first.get("tiers", []) if t.get("holds")}
    return all(t.get("holds") for t in last.get("tiers", []) if t["name"] in held)


def _score_usage(row: FixRow, doc: dict[str, Any]) -> None:
    """Tokens and estimated price of the whole run (run.json's ``cost``: every process that drove it)."""
    cost = doc.get("cost")
    if isinstance(cost, dict):
        row.tokens_in = int(cost.get("prompt_tokens", 0) or 0)
        row.tokens_out = int(cost.get("completion_tokens", 0) or 0)
        price = cost.get("estimated_usd")
        row.estimated_usd = float(price) if price is not None else None


def _as_expected(row: FixRow) -> bool:
    if row.llm == "none":
        return row.status == "diagnosed"
    if row.expected_end == "green":
        return row.status == "green"
    return row.prs == 0 and row.status in ("diagnosed", "gave_up", "green")
