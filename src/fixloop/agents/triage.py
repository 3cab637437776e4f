"""Group failures and realness findings into categories of a fixed taxonomy.

One category per (kind, signature group): the two tests of the seed that fail with HTTP 500 on
the WebSocket handshake are one ``server-error`` category, not two. Realness findings become
categories too (a fake pass is a ``test-defect`` even though nothing failed), and tests that
pass when re-run on the same commit move to a ``flaky`` category.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from fixloop.agents.missing_dependency import imports_own_module
from fixloop.agents.triage_rules import (
    classify_failure,
    expected_exception,
    failure_nature,
    finding_kind,
    is_infrastructure_skip,
)
from fixloop.records import CATEGORY_KINDS, Category, CategoryKind, Finding, Signature, TestResult, TestRun
from fixloop.redaction import Redactor
from fixloop.tools.signatures import is_test_file, normalize_message, signature_of_text, signature_parts

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")

KIND_TITLES: dict[str, str] = {
    "server-error": "Server error",
    "auth": "Authentication rejected",
    "protocol": "Protocol mismatch",
    "timeout": "Timeout",
    "environment": "Environment unavailable",
    "test-defect": "Test defect",
    "flaky": "Flaky",
}


@dataclass
class _Group:
    kind: CategoryKind
    signature: Signature
    reason: str
    tests: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def categorize(
    run: TestRun, findings: list[Finding], *, repo: Path | None = None, redactor: Redactor | None = None
) -> list[Category]:
    """Categories (one per signature group), realness findings included as test-defect etc.

    Titles, signature messages and findings are redacted (``redactor`` or one over the process env).
    """
    root = repo if repo is not None else (Path(run.cwd) if run.cwd else None)
    groups: dict[str, _Group] = {}
    for result in run.results:
        if result.outcome in ("failed", "error"):
            _add_failure(groups, result, root)
        elif result.outcome == "skipped" and is_infrastructure_skip(result.skip_reason or result.longrepr):
            _add_skip(groups, result)
    _add_findings(groups, findings, run, root)
    return redact_categories(_number(groups.values()), redactor or Redactor())


def redact_categories(categories: list[Category], redactor: Redactor) -> list[Category]:
    """``categories`` with every free text passed through ``redactor`` (in place, and returned)."""
    for category in categories:
        category.title = redactor.redact(category.title)
        category.signature.message = redactor.redact(category.signature.message)
        category.findings = [
            f.model_copy(update={"message": redactor.redact(f.message), "evidence": redactor.redact(f.evidence)})
            for f in category.findings
        ]
    return categories


def _add_failure(groups: dict[str, _Group], result: TestResult, repo: Path | None) -> None:
    parts, decisive = signature_parts(result.longrepr or result.skip_reason, repo=repo)
    raising = parts.frames[0] if parts.frames else None  # innermost own frame: where it was raised
    in_package = raising is not None and not is_test_file(raising[0])
    longrepr = result.longrepr or result.skip_reason
    package_frames = [(file, function) for file, _, function in parts.frames if not is_test_file(file)]
    kind, reason = classify_failure(
        parts,
        decisive,
        phase=result.phase,
        raised_in_package=in_package,
        expected=expected_exception(longrepr),
        package_names=[name for frame in package_frames for name in frame],
        own_import=imports_own_module(decisive.text, repo),
    )
    app_frame = next((f"{file}:{function}" for file, _, function in parts.frames if not is_test_file(file)), "")
    if kind in ("server-error", "auth") and (parts.http_status is not None or parts.close_code is not None):
        # The status or close code is the signature: an InvalidStatus in one test and an AssertionError
        # wrapping the same "HTTP 500" in another are one failure of the server.
        key = f"{kind}|{parts.http_status}|{parts.close_code}|{app_frame}"
    elif in_package and raising is not None and kind in ("protocol", "test-defect"):
        # Raised at the same line of the package: one root cause, whatever the exception or message.
        key = f"raised|{raising[0]}:{raising[1]}"
    else:
        key = (
            f"{kind}|{parts.exception_type}|{parts.http_status}|{parts.close_code}|{_coarse(parts.message)}|{app_frame}"
        )
    group = groups.get(key)
    if group is None:
        nature = failure_nature(kind, parts.exception_type)
        where = (
            f" raised in {raising[0]}" + (f" ({raising[2]})" if raising[2] else "") if in_package and raising else ""
        )
        group = groups[key] = _Group(kind, parts.signature(), f"{nature}{where}: {reason}")
    group.tests.append(result.nodeid)


@lru_cache(maxsize=8192)
def _coarse(message: str) -> str:
    """A normalized message with quoted literals masked too: one category for "expected 'a' got 'b'"."""
    return _QUOTED.sub("<str>", message)


def _add_skip(groups: dict[str, _Group], result: TestResult) -> None:
    reason_text = result.skip_reason or result.longrepr
    message = normalize_message(reason_text)
    key = f"environment|skip|{_QUOTED.sub('<str>', message)}"
    signature = Signature(exception_type="Skipped", message=message)
    group = groups.setdefault(key, _Group("environment", signature, "skipped: the environment is missing"))
    group.tests.append(result.nodeid)


def _add_findings(groups: dict[str, _Group], findings: list[Finding], run: TestRun, repo: Path | None) -> None:
    by_test: dict[tuple[str, str], _Group] = {(g.kind, t): g for g in groups.values() for t in g.tests}
    for item in findings:
        own = imports_own_module(f"{item.message}\n{item.evidence}", repo)
        kind = finding_kind(item.kind, item.message, own_import=own)
        if item.test is not None and (kind, item.test) in by_test:
            by_test[(kind, item.test)].findings.append(item)
            continue
        if item.test is None:
            host = next(
                (g for g in groups.values() if g.kind == kind and g.signature.exception_type == "Skipped"), None
            )
            if host is not None and item.kind == "all-skipped":
                host.findings.append(item)
                continue
            joined = next((g for g in groups.values() if g.kind == kind), None)
            if joined is not None and item.kind == "never-ran":  # told with the hang or crash that caused it
                joined.findings.append(item)
                continue
        key = f"{kind}|finding|{item.kind}"
        if item.kind == "collection-error":  # one category per cause: a missing install is not a renamed module
            key += "|" + normalize_message(item.message.partition(" (")[2] or item.message)
        signature = Signature(exception_type=item.kind, message=normalize_message(item.message))
        group = groups.setdefault(key, _Group(kind, signature, f"realness finding: {item.kind}"))
        if item.test is not None and item.test not in group.tests:
            group.tests.append(item.test)
            by_test[(kind, item.test)] = group  # more findings about this test join this category
        group.findings.append(item)
    for error in run.collection_errors if not any(f.kind == "collection-error" for f in findings) else []:
        kind = finding_kind("collection-error", error, own_import=imports_own_module(error, repo))
        key = f"{kind}|collection|{normalize_message(error.splitlines()[-1] if error else '')}"
        signature, _ = signature_of_text(error)
        group = groups.setdefault(key, _Group(kind, signature, "collection error"))
        group.findings.append(
            Finding(kind="collection-error", message=error.splitlines()[-1] if error else "", evidence=error)
        )


def _number(groups: Iterable[_Group]) -> list[Category]:
    counters: dict[str, int] = {}
    out: list[Category] = []
    for group in groups:
        counters[group.kind] = counters.get(group.kind, 0) + 1
        out.append(
            Category(
                id=f"{group.kind}-{counters[group.kind]}",
                kind=group.kind,
                title=_title(group),
                tests=list(group.tests),
                signature=group.signature,
                findings=list(group.findings),
            )
        )
    return out


def _title(group: _Group) -> str:
    sig = group.signature
    head = KIND_TITLES[group.kind]
    detail = group.reason
    if sig.exception_type and sig.exception_type not in detail:
        detail = f"{sig.exception_type}: {detail}"
    count = len(group.tests)
    tests = f" ({count} test{'s' if count != 1 else ''})" if count else ""
    return f"{head}: {detail}{tests}"


# ---------------------------------------------------------------- flaky


def failing_tests(categories: list[Category], run: TestRun) -> list[str]:
    """Node ids of the categorized tests that failed or errored in ``run``."""
    failed = {r.nodeid for r in run.failures()}
    return [t for c in categories for t in c.tests if t in failed]


def mark_flaky(categories: list[Category], run: TestRun, reruns: list[TestRun]) -> list[Category]:
    """Move tests that failed in ``run`` but passed in a re-run of the same commit into ``flaky`` categories.

    A flaky test leaves its category (a category left empty and without findings disappears);
    flaky tests keep their original grouping so that one cause stays one category. Ids are
    renumbered per kind.
    """
    passed_again = {r.nodeid for rerun in reruns for r in rerun.results if r.outcome == "passed"}
    failed = {r.nodeid for r in run.failures()}
    flaky_groups: list[_Group] = []
    kept: list[_Group] = []
    for category in categories:
        moving = [t for t in category.tests if t in failed and t in passed_again]
        staying = [t for t in category.tests if t not in moving]
        if moving:
            runs = 1 + len(reruns)
            reason = f"failed, then passed on the same commit ({runs} runs); first seen as {category.kind}"
            flaky_groups.append(_Group("flaky", category.signature, reason, moving))
        if staying or category.findings:
            group = _Group(category.kind, category.signature, "", staying, list(category.findings))
            kept.append(group)
    renumbered = _number([*kept, *flaky_groups])
    titles = {c.id: c.title for c in categories}
    for category, old in zip(
        renumbered[: len(kept)], [c for c in categories if _kept(c, failed, passed_again)], strict=True
    ):
        category.title = _retitle(titles[old.id], len(category.tests))
    return renumbered


def _kept(category: Category, failed: set[str], passed_again: set[str]) -> bool:
    return bool(category.findings) or any(not (t in failed and t in passed_again) for t in category.tests)


def _retitle(title: str, count: int) -> str:
    base = re.sub(r" \(\d+ tests?\)$", "", title)
    return f"{base} ({count} test{'s' if count != 1 else ''})" if count else base


# fixloop's per-test timeout (the plugin's TIMEOUT_TEXT) and pytest-timeout's own, in a test's report
_TIMED_OUT = re.compile(r"Timeout: test exceeded [\d.]+ s \(fixloop_report\)|^E\s+Failed: Timeout >[\d.]+s", re.M)


def hung_tests(run: TestRun) -> list[str]:
    """Failed tests that a hang, the run's limit or the per-test timeout ended: never re-run for flakiness.

    Such a test already cost its per-test timeout (a hang also the watchdog's grace and a new pytest
    process); a re-run pays it again and, with the same budget, ends the same way (a smaller budget would
    only make it time out sooner). It keeps the category it has (``timeout``). The price: a test that only
    sometimes times out is not labelled ``flaky``.
    """
    failed = {r.nodeid: r for r in run.failures()}
    ends = [e.last_test for e in run.child_exits if e.reason in ("hang", "run-timeout") and e.last_test]
    timed_out = [nodeid for nodeid, r in failed.items() if _TIMED_OUT.search(r.longrepr)]
    return [t for t in dict.fromkeys([*ends, *timed_out]) if t in failed]


def detect_flaky(
    categories: list[Category],
    run: TestRun,
    rerun: Callable[[list[str]], TestRun],
    *,
    times: int,
    full_reruns: int = 1,
) -> tuple[list[Category], list[TestRun]]:
    """Re-run failing tests ``times`` times on the same commit (``rerun`` runs node ids) and mark flaky ones.

    The first ``full_reruns`` re-runs take every failing test; later ones only one test per category
    that has shown no flakiness yet (one cause, one representative), which keeps many re-runs cheap
    when tests are slow to fail. Stops early once every category has a test that passed again.
    Tests that ended as a hang (``hung_tests``) are not re-run.
    """
    failed = set(failing_tests(categories, run)) - set(hung_tests(run))
    if not failed or times < 1:
        return categories, []
    reruns: list[TestRun] = []
    passed: set[str] = set()
    for attempt in range(times):
        open_categories = [c for c in categories if any(t in failed for t in c.tests) and not passed & set(c.tests)]
        if not open_categories:
            break
        if attempt < full_reruns:
            ids = [t for c in open_categories for t in c.tests if t in failed and t not in passed]
        else:
            ids = [next(t for t in c.tests if t in failed) for c in open_categories]
        result = rerun(list(dict.fromkeys(ids)))
        reruns.append(result)
        passed |= {r.nodeid for r in result.results if r.outcome == "passed"}
    return mark_flaky(categories, run, reruns), reruns


def kinds(categories: list[Category]) -> list[str]:
    """The distinct kinds of ``categories``, in taxonomy order."""
    present = {c.kind for c in categories}
    return [k for k in CATEGORY_KINDS if k in present]
