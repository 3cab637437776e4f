"""What a run page shows, computed from the run's record (run.json as a dict): plain data for the templates.

Every reader here is tolerant: a record written by an older version, a run still in its first step, or a
record from another runner may miss any key; the page then shows less, never a traceback.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

FAILING = ("failed", "error")
_FILE_URL = re.compile(r"file://\S+")
EVIDENCE_TEXT = 2000  # characters of an evidence item shown beside a why-step


@dataclass
class Phase:
    name: str
    kind: str
    iteration: int
    counts: dict[str, int]
    failing: list[str]
    never_ran: list[str]
    commit: str = ""
    started_at: str = ""


@dataclass
class Step:
    question: str
    answer: str
    evidence: list[dict[str, str]]  # the cited items: id, kind, title, text, source (missing ones say so)


@dataclass
class DiffLine:
    kind: str  # "add", "del", "hunk", "file", "ctx"
    text: str


@dataclass
class CategoryView:
    iteration: int
    id: str
    kind: str
    title: str
    tests: list[str]
    root_cause: str
    confidence: float | None
    fix_location: str
    steps: list[Step]
    fix_summary: str
    diff: list[DiffLine]
    validation: str
    audit: dict[str, Any] | None
    stress: dict[str, Any] | None
    attempts: int
    pr: dict[str, Any] | None
    outcome: str
    fixability: float | None = None


@dataclass
class RunView:
    thread_id: str
    status: str
    outcome: str
    focus: str
    requested_by: str
    source: str
    llm: str
    started_at: str
    interrupted: bool
    phases: list[Phase]
    iterations: list[dict[str, Any]]
    categories: list[CategoryView]
    prs: list[dict[str, Any]]
    approvals: list[dict[str, Any]]
    deploys: list[dict[str, Any]]
    cost: dict[str, Any]
    events: list[dict[str, Any]]
    waiting_heads: list[str] = field(default_factory=list)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def link(url: Any) -> str:
    """A URL a browser can follow from the page: http(s) only (a local remote's ``file://`` points nowhere)."""
    text = str(url or "")
    return text if text.startswith(("https://", "http://")) else ""


def _no_file_links(text: str) -> str:
    """A step's text without the ``file://`` URLs of a local git remote (nothing a reader can open)."""
    return _FILE_URL.sub("(on the local git remote)", text)


def diff_lines(patch: str) -> list[DiffLine]:
    out: list[DiffLine] = []
    for line in patch.splitlines():
        if line.startswith(("diff --git", "+++", "---", "index ")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        out.append(DiffLine(kind, line))
    return out


def phases(doc: dict[str, Any]) -> list[Phase]:
    """The test phases with their counts and failing ids (run.json's phase records; older records: iterations)."""
    found: list[Phase] = []
    for p in _dicts(doc.get("phases")):
        outcomes = _dict(p.get("outcomes"))
        found.append(
            Phase(
                name=str(p.get("name", "?")),
                kind=str(p.get("kind", "iteration")),
                iteration=int(p.get("iteration") or 0),
                counts=dict(sorted(Counter(str(o) for o in outcomes.values()).items())),
                failing=[str(n) for n, o in outcomes.items() if o in FAILING],
                never_ran=[str(n) for n in p.get("never_ran") or []],
                commit=str(p.get("commit", ""))[:12],
                started_at=str(p.get("started_at", "")),
            )
        )
    if found:
        return found
    for n, it in enumerate(_dicts(doc.get("iterations")) or _dicts(doc.get("test_runs")), start=1):
        results = _dicts(it.get("results"))
        counts = _dict(it.get("counts"))
        found.append(
            Phase(
                name=f"iter-{it.get('iteration', n)}",
                kind="iteration",
                iteration=int(it.get("iteration") or n),
                counts={str(k): int(v) for k, v in sorted(counts.items())},
                failing=[str(r.get("nodeid")) for r in results if r.get("outcome") in FAILING],
                never_ran=[str(x) for x in it.get("never_ran") or []],
            )
        )
    return found


def _steps(category: dict[str, Any]) -> list[Step]:
    whys = _dict(category.get("five_whys"))
    bundle = _dict(category.get("evidence"))
    items = {str(i.get("id")): i for i in _dicts(bundle.get("items"))}
    steps: list[Step] = []
    for s in _dicts(whys.get("steps")):
        cited: list[dict[str, str]] = []
        for ref in s.get("evidence") or []:
            item = items.get(str(ref))
            if item is None:
                cited.append(
                    {"id": str(ref), "kind": "", "title": "not in this run's evidence", "text": "", "source": ""}
                )
                continue
            text = str(item.get("text", ""))
            cut = (
                f"\n... ({len(text) - EVIDENCE_TEXT} characters more in the worklog)"
                if len(text) > EVIDENCE_TEXT
                else ""
            )
            cited.append(
                {
                    "id": str(ref),
                    "kind": str(item.get("kind", "")),
                    "title": str(item.get("title", "")),
                    "text": text[:EVIDENCE_TEXT] + cut,
                    "source": str(item.get("source", "")),
                }
            )
        steps.append(Step(str(s.get("question", "")), str(s.get("answer", "")), cited))
    return steps


def _stress(category: dict[str, Any]) -> dict[str, Any] | None:
    for attempt in reversed(_dicts(category.get("attempts"))):
        stress = attempt.get("stress")
        if isinstance(stress, dict):
            results = _dicts(stress.get("results"))
            green = sum(1 for r in results if not r.get("failing") and r.get("exit_code", 0) == 0)
            return {
                "runs": int(stress.get("runs") or len(results)),
                "green": green,
                "tests": [str(t) for t in stress.get("tests") or []],
                "results": results,
            }
    return None


def category_view(category: dict[str, Any], iteration: int, scores: dict[tuple[int, str], float]) -> CategoryView:
    whys = _dict(category.get("five_whys"))
    fix = _dict(category.get("fix"))
    confidence = whys.get("confidence")
    cid = str(category.get("id", "?"))
    pr = _dict(category.get("pr")) or None
    return CategoryView(
        iteration=iteration,
        id=cid,
        kind=str(category.get("kind", "")),
        title=str(category.get("title", "")),
        tests=[str(t) for t in category.get("tests") or []],
        root_cause=str(whys.get("root_cause", "")),
        confidence=float(confidence) if isinstance(confidence, int | float) else None,
        fix_location=str(whys.get("fix_location", "")),
        steps=_steps(category),
        fix_summary=str(fix.get("summary", "")),
        diff=diff_lines(str(fix.get("patch", ""))),
        validation=str(fix.get("validation", "")),
        audit=_dict(category.get("audit")) or None,
        stress=_stress(category),
        attempts=len(_dicts(category.get("attempts"))),
        pr=dict(pr, link=link(pr.get("url"))) if pr else None,
        outcome=str(category.get("outcome", "")),
        fixability=scores.get((iteration, cid)),
    )


def categories(doc: dict[str, Any]) -> list[CategoryView]:
    scores = {
        (int(f.get("iteration") or 0), str(f.get("category"))): float(f.get("score") or 0.0)
        for f in _dicts(doc.get("fixability"))
    }
    views: list[CategoryView] = []
    iterations = _dicts(doc.get("iterations"))
    for n, it in enumerate(iterations, start=1):
        number = int(it.get("iteration") or n)
        views += [category_view(c, number, scores) for c in _dicts(it.get("categories"))]
    if not iterations:  # a record that keeps the categories at the top
        views += [category_view(c, int(doc.get("iteration") or 1), scores) for c in _dicts(doc.get("categories"))]
    return views


def run_view(doc: dict[str, Any]) -> RunView:
    llm = _dict(doc.get("llm"))
    prs = [dict(pr, link=link(pr.get("url"))) for pr in _dicts(doc.get("prs"))]
    status = str(doc.get("status", "?"))
    return RunView(
        thread_id=str(doc.get("thread_id", "?")),
        status=status,
        outcome=str(doc.get("outcome", "")),
        focus=str(doc.get("focus", "")),
        requested_by=str(doc.get("requested_by", "")),
        source=str(doc.get("source", "")),
        llm=str(llm.get("mode", "")) + (f" ({llm['model']})" if llm.get("model") else ""),
        started_at=str(doc.get("started_at", "")),
        interrupted=bool(doc.get("interrupted")),
        phases=phases(doc),
        iterations=[
            {
                "iteration": it.get("iteration"),
                "tiers": _dicts(it.get("tiers")),
                "findings": _dicts(it.get("realness_findings")),
            }
            for it in _dicts(doc.get("iterations"))
        ],
        categories=categories(doc),
        prs=prs,
        approvals=_dicts(doc.get("approvals")),
        deploys=_dicts(doc.get("deploys")),
        cost=_dict(doc.get("cost")),
        events=[dict(e, text=_no_file_links(str(e.get("text", "")))) for e in _dicts(doc.get("events"))[-30:]],
        waiting_heads=[str(pr.get("head_sha")) for pr in prs if pr.get("state") == "open" and pr.get("head_sha")],
    )
