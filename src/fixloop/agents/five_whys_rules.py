"""Five whys without a model: a chain built by rules from the evidence, each step citing it.

The chain always has six steps: test symptom -> server response -> log error -> code location ->
recent change -> root cause. A step whose own kind of evidence is missing says so and cites
what there is, so the chain stays honest and checkable. Confidence grows with the quality of
the evidence (an error log tied to the tests, a raising frame, a recent commit on the spot).
"""

from __future__ import annotations

from fixloop.agents.claims import item_texts, with_support
from fixloop.records import Category, EvidenceBundle, EvidenceItem, FiveWhys, Location, WhyStep
from fixloop.redaction import Redactor

CLOSE_CODES = {
    1000: "normal closure",
    1001: "going away",
    1002: "protocol error",
    1003: "unsupported data",
    1007: "invalid payload",
    1008: "policy violation",
    1011: "internal error",
    1012: "service restart",
    1013: "try again later",
}


def rule_chain(category: Category, bundle: EvidenceBundle, *, redactor: Redactor | None = None) -> FiveWhys:
    """test symptom -> server response -> log error -> code location -> recent change -> root cause."""
    redactor = redactor or Redactor()
    tests = [i for i in bundle.items if i.kind in ("test-output", "finding")]
    logs = [i for i in bundle.items if i.kind == "log-line"] + _error_templates(bundle)
    code = [i for i in bundle.items if i.kind == "code"]
    all_commits = [i for i in bundle.items if i.kind == "commit"]
    top = bundle.locations[0] if bundle.locations else None
    commits = [c for c in all_commits if top is not None and top.file in c.text]  # those on the fix location
    fallback = _ids(tests) or _ids(bundle.items[:1])

    steps = [
        WhyStep(
            question=f"Why is category {category.id} failing?", answer=_symptom(category, tests), evidence=fallback[:3]
        ),
        WhyStep(
            question="What did the target answer?",
            answer=_response(category),
            evidence=(fallback[:2] + _ids(_status_templates(bundle, category)))[:3],
        ),
        WhyStep(
            question="What did the target log at that moment?",
            answer=_log_answer(logs),
            evidence=_ids(logs)[:3] or fallback[:1],
        ),
        WhyStep(
            question="Where in the code does it happen?", answer=_where(top), evidence=_ids(code)[:2] or fallback[:1]
        ),
        WhyStep(
            question="What changed there recently?",
            answer=_change(commits, top),
            evidence=_ids(commits)[:2] or _ids(code)[:1] or fallback[:1],
        ),
    ]
    root = _root_cause(category, logs, top, commits)
    steps.append(
        WhyStep(
            question="What is the root cause?",
            answer=root,
            evidence=(_ids(code)[:1] + _ids(commits)[:1] + _ids(logs)[:1]) or fallback[:1],
        )
    )
    texts = item_texts(bundle.items)
    for step in steps:
        step.question, step.answer = redactor.redact(step.question), redactor.redact(step.answer)
        step.evidence = with_support(step.answer, step.evidence, texts, limit=len(step.evidence) + 2)
    fix = _fix_location(top, category)
    return FiveWhys(
        steps=steps,
        root_cause=redactor.redact(root),
        fix_location=fix,
        confidence=_confidence(category, bundle, logs, commits, top),
        method="rules",
    )


def _ids(items: list[EvidenceItem]) -> list[str]:
    return [i.id for i in items]


def _error_templates(bundle: EvidenceBundle) -> list[EvidenceItem]:
    return [i for i in bundle.items if i.kind == "log-template" and i.title.startswith(("ERROR", "CRITICAL"))]


def _status_templates(bundle: EvidenceBundle, category: Category) -> list[EvidenceItem]:
    code = category.signature.http_status
    if code is None:
        return []
    return [i for i in bundle.items if i.kind == "log-template" and str(code) in i.text][:1]


def _symptom(category: Category, tests: list[EvidenceItem]) -> str:
    sig = category.signature
    count = len(category.tests)
    what = f"{sig.exception_type}: {sig.message}".strip(": ") or category.title
    raw = _first_error_line(tests)
    if raw:
        what = raw
    if category.findings and not sig.http_status and category.kind == "test-defect":
        finding = category.findings[0]
        return f"{count} test(s) prove nothing: {finding.kind} - {finding.message}"
    names = ", ".join(t.rsplit("::", 1)[-1] for t in category.tests[:3])
    more = f" and {count - 3} more" if count > 3 else ""
    return f"{count} test(s) ({names}{more}) end with {what}"


def _first_error_line(items: list[EvidenceItem]) -> str:
    """The exception line of the first test output (``E   Type: message``), un-normalized."""
    for item in items:
        if item.kind != "test-output":
            continue
        for line in item.text.splitlines():
            if line.startswith("E ") and line[1:].strip() and not line[1:].strip().startswith("assert "):
                return line[1:].strip()[:200]
    return ""


def _response(category: Category) -> str:
    sig = category.signature
    if sig.http_status is not None:
        return f"The target answered with HTTP {sig.http_status} where the test expected success (101 for a WebSocket)"
    if sig.close_code is not None:
        reason = CLOSE_CODES.get(sig.close_code, "application-defined")
        return f"The target closed the WebSocket with code {sig.close_code} ({reason})"
    return {
        "timeout": "The target sent no complete answer before the test's timeout",
        "environment": "The target or its environment was not reachable or not configured",
        "protocol": f"The target's messages differ from what the test expects: {sig.message}",
        "auth": "The target rejected the credentials",
        "test-defect": "Nothing wrong was observed on the target side: the test itself is at fault",
        "flaky": "The target answered differently across runs of the same commit",
        "server-error": "The target failed while serving the request",
    }[category.kind]


def _log_answer(logs: list[EvidenceItem]) -> str:
    if not logs:
        return "No error was logged by the target in the failing tests' window; the test output is the only record"
    first = logs[0]
    exception = _last_line(first.text) if first.kind == "log-line" else ""
    text = f"The target logged: {first.title.removeprefix('error log with traceback: ')}"
    return f"{text}; the exception was {exception}" if exception else text


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def _where(top: Location | None) -> str:
    if top is None:
        return "No location in the repository could be ranked from the evidence"
    spot = f"{top.file}:{top.line}" if top.line else top.file
    function = f" in {top.function}" if top.function else ""
    return f"{spot}{function} ranks first (score {top.score}): " + "; ".join(top.reasons[:4])


def _change(commits: list[EvidenceItem], top: Location | None) -> str:
    if commits:
        return f"{commits[0].title} touched it"
    if top is None:
        return "No recent focused commit could be tied to a location"
    return f"No recent focused commit touched {top.file}; the defect predates the recent history or lies elsewhere"


def _root_cause(category: Category, logs: list[EvidenceItem], top: Location | None, commits: list[EvidenceItem]) -> str:
    what = category.title
    if category.kind == "test-defect" and category.findings:
        finding = category.findings[0]
        what = f"{finding.kind}: {finding.message}"
    elif logs and logs[0].kind == "log-line":
        exception = _last_line(logs[0].text)
        if exception:
            what = exception
    where = f" in {_fix_location(top, category)}" if top is not None else ""
    since = f", introduced by {commits[0].title.removeprefix('recent commit ')}" if commits else ""
    return f"{category.kind}: {what}{where}{since}"


def _fix_location(top: Location | None, category: Category) -> str:
    if top is None:
        return category.tests[0].split("::", 1)[0] if category.tests else ""
    return f"{top.file}:{top.function}" if top.function else top.file


def _confidence(
    category: Category,
    bundle: EvidenceBundle,
    logs: list[EvidenceItem],
    commits: list[EvidenceItem],
    top: Location | None,
) -> float:
    score = 0.25
    if any(i.kind in ("test-output", "finding") for i in bundle.items):
        score += 0.1
    if logs:
        score += 0.2
    if top is not None and any(r.startswith(("raised here", "sourceLocation", "the defective")) for r in top.reasons):
        score += 0.15
    if top is not None and len(top.reasons) >= 3:
        score += 0.05
    if commits:
        score += 0.15
    if category.kind == "flaky" or any(n.startswith("logs unavailable") for n in bundle.notes):
        score -= 0.1
    return round(min(0.95, max(0.05, score)), 2)
