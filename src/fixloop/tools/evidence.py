"""Build the size-bounded, citable evidence bundle of a category.

Items, in priority order: the failing tests' trimmed output (and realness findings), the error
log line with its traceback, mined log templates with example lines, ranked code locations with
snippets, recent commits touching them. Every text is redacted, then the items are kept in
priority order while they fit the token budget and numbered ``E1``, ``E2``, ... in that order.

Token counts are an estimate: ``ceil(characters / 4)``, the usual ratio of English and code for
GPT-style BPE tokenizers. (``tiktoken`` would need to download its BPE files, which this
environment cannot.) The estimate is deliberately simple and errs on the large side for code.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fixloop.config import Settings
from fixloop.errors import LogSourceError
from fixloop.integrations.logs.entries import severity_rank
from fixloop.integrations.logs.query import query_for_tests
from fixloop.interfaces import LogEntry, LogQuery, LogSource
from fixloop.records import Category, EvidenceBundle, EvidenceItem, EvidenceKind, Location, TestResult, TestRun
from fixloop.redaction import Redactor
from fixloop.text_trim import head_at_line, middle_at_lines
from fixloop.tools.captured_logs import captured_entries
from fixloop.tools.git_history import Commit, commit_diff, focused_commits
from fixloop.tools.localize import localize
from fixloop.tools.log_mining import LogTemplate, mine_templates
from fixloop.tools.spectrum import Spectrum

MAX_TESTS = 4
MAX_TEMPLATES = 4
MAX_LOCATIONS = 3
MAX_COMMITS = 2
MAX_OUTPUT_CHARS = 1800
MAX_LINE_CHARS = 240
MAX_NAMED = 8  # test ids named in the "more tests" item
_CARETS = re.compile(r"\s*[~^]+\s*")  # Python 3.11+ traceback markers under a source line: no information
SNIPPET_CONTEXT = 4  # lines either side of a ranked location (the fixer sees the whole function)
MIN_TRIMMED_CHARS = 200
LIBRARY_FRAME = "site-packages"  # an installed library's frame in a traceback (folded: it is not the repo's code)
ERROR_SEVERITIES = ("ERROR", "CRITICAL", "ALERT", "EMERGENCY")


def estimate_tokens(text: str) -> int:
    """Tokens of ``text``, estimated as ceil(characters / 4)."""
    return math.ceil(len(text) / 4)


@dataclass
class _Draft:
    kind: EvidenceKind
    title: str
    text: str
    source: str


def gather_evidence(
    category: Category,
    run: TestRun,
    *,
    repo: Path,
    logs: LogSource | None,
    settings: Settings,
    budget_tokens: int = 4000,
    focus: str = "",
    redactor: Redactor | None = None,
    entries: list[LogEntry] | None = None,
    commits: list[Commit] | None = None,
    spectrum: Spectrum | None = None,
) -> EvidenceBundle:
    """Failing output, mined log templates, ranked locations with snippets, recent commits: ids E1, E2, ..."""
    redactor = redactor or Redactor(secret_env_names=settings.redaction.secret_env_names)
    notes: list[str] = []
    log_source = ""
    if entries is None:
        entries = _fetch(category, run, logs, settings, notes)
        if logs is not None:
            log_source = _log_source(logs, query_for_tests(run, category.tests, settings), settings, len(entries))
    relevant = relevant_entries(entries, category.tests, strict=category.kind == "test-defect")
    commits = focused_commits(repo) if commits is None else commits
    locations = localize(category, run, repo=repo, entries=relevant, focus=focus, commits=commits, spectrum=spectrum)
    if spectrum is not None:
        notes.append(_spectrum_note(spectrum))

    drafts = _test_drafts(category, run)
    errors = [e for e in relevant if e.severity in ERROR_SEVERITIES]
    traced = next((e for e in errors if _stack_trace(e)), None)
    if traced is not None:
        drafts.append(_traceback_draft(traced))
    windows = _test_windows(run, category.tests)
    templates = mine_templates(relevant, test_windows=windows, margin_seconds=1.0)
    notable = [t for t in templates if severity_rank(t.severity) >= severity_rank("WARNING") or t.tests]
    drafts += [_template_draft(t, logs) for t in notable[:MAX_TEMPLATES]]
    drafts += [_code_draft(repo, loc) for loc in locations[:MAX_LOCATIONS]]
    drafts += _commit_drafts(repo, commits, locations)
    if logs is not None and not entries and not notes:
        notes.append("no log entries in the failing tests' time window")
    bundle = _bounded(category.id, drafts, locations, redactor, budget_tokens, notes)
    bundle.log_source = redactor.redact(log_source)
    return bundle


def _log_source(logs: LogSource, query: LogQuery, settings: Settings, count: int) -> str:
    """Where the logs came from and the window asked for, e.g. "file .fixloop/target.log, 10:01:02 .. 10:01:40"."""
    where = settings.logs.path if logs.name == "file" else settings.logs.project
    service = f" service {query.service_name}" if query.service_name else ""
    window = f"{query.start.strftime('%Y-%m-%d %H:%M:%S')} .. {query.end.strftime('%H:%M:%S')} UTC"
    return f"{logs.name} {where or ''}{service}, window {window}, {count} entries".replace("  ", " ")


def _spectrum_note(spectrum: Spectrum) -> str:
    if spectrum.note:
        return f"coverage spectrum: {spectrum.note}"
    if spectrum.during_run:
        return (
            f"coverage spectrum: {spectrum.total_failed} failing and {spectrum.total_passed} passing tests, lines "
            "recorded by coverage.py during the test run (no re-run)"
        )
    return (
        f"coverage spectrum: {spectrum.total_failed} failing and {spectrum.total_passed} passing tests re-run under "
        f"coverage.py in {spectrum.seconds:.1f} s (their own run: {spectrum.tests_seconds:.1f} s)"
    )


def _fetch(
    category: Category, run: TestRun, logs: LogSource | None, settings: Settings, notes: list[str]
) -> list[LogEntry]:
    if logs is None:
        captured = captured_entries(run, category.tests)
        what = f"; the tests' captured logs give {len(captured)} entries" if captured else ""
        notes.append(f"no log source configured{what}")
        return captured
    try:
        return logs.fetch(query_for_tests(run, category.tests, settings))
    except LogSourceError as exc:
        notes.append(f"logs unavailable: {exc.one_line()}")
        return []


def relevant_entries(entries: list[LogEntry], tests: list[str], *, strict: bool = False) -> list[LogEntry]:
    """Entries tagged with one of ``tests`` (payload ``test``) plus untagged ones; all when none is tagged.

    ``strict`` keeps only the tagged ones (a test defect is about the test: the server's logs of
    the same moment belong to other tests).
    """
    wanted = set(tests)
    if strict:
        return [e for e in entries if e.payload.get("test") in wanted]
    tagged = [e for e in entries if e.payload.get("test")]
    if not any(e.payload.get("test") in wanted for e in tagged):
        return entries
    return [e for e in entries if not e.payload.get("test") or e.payload.get("test") in wanted]


# ---------------------------------------------------------------- drafts


def _test_drafts(category: Category, run: TestRun) -> list[_Draft]:
    """The output of up to ``MAX_TESTS`` failing tests, one per distinct error (the same ``E`` lines as a
    test already shown add nothing), then the realness findings, then the other tests' ids."""
    by_id = {r.nodeid: r for r in run.results}
    drafts: list[_Draft] = []
    errors: set[tuple[str, ...]] = set()
    scanned = category.tests[: MAX_TESTS * 3]
    repeated: list[str] = []
    for nodeid in scanned:
        result = by_id.get(nodeid)
        if result is None or result.outcome == "passed":
            continue
        text = _trim_output(result)
        error = tuple(line.strip() for line in text.splitlines() if line.startswith("E "))
        if len(drafts) == MAX_TESTS or (error and error in errors):
            repeated.append(nodeid)
            continue
        errors.add(error)
        drafts.append(_Draft("test-output", f"{nodeid} {result.outcome} in {result.phase}", text, nodeid))
    for item in category.findings[:MAX_TESTS]:
        text = item.message + (f"\n{item.evidence}" if item.evidence else "")
        drafts.append(_Draft("finding", f"realness finding {item.kind}", _trim(text), item.test or "run"))
    rest = repeated + category.tests[len(scanned) :]
    if rest:
        title = f"{len(rest)} more tests (the same error as a test above, or beyond the first {MAX_TESTS})"
        more = f" and {len(rest) - MAX_NAMED} more" if len(rest) > MAX_NAMED else ""
        drafts.append(_Draft("test-output", title, ", ".join(rest[:MAX_NAMED]) + more, "run"))
    return drafts


def _trim_output(result: TestResult) -> str:
    report = result.longrepr or result.skip_reason
    lines = report.splitlines()
    decisive = _fold_library_frames([line for line in lines if line.startswith(("E ", ">")) or ".py:" in line])
    head = "\n".join(_cut(line) for line in (decisive[-30:] if decisive else lines[-30:]))
    extra = []
    for name, stream in (("stdout", result.stdout), ("stderr", result.stderr), ("log", result.log)):
        if stream.strip():
            extra.append(f"--- captured {name} (tail)\n" + "\n".join(stream.strip().splitlines()[-8:]))
    return _trim("\n".join([head, *extra]))


def _cut(line: str, limit: int = MAX_LINE_CHARS) -> str:
    """One output line at most ``limit`` characters (pytest's assertion reprs can run to kilobytes)."""
    return line if len(line) <= limit else line[:limit] + f" ... ({len(line) - limit} characters cut)"


def _fold_library_frames(lines: list[str]) -> list[str]:
    """Runs of installed-library frames (``site-packages``) fold into one line; the last frame, where the
    error was raised, stays."""
    folded: list[str] = []
    run: list[str] = []
    for line in [*lines, ""]:
        if LIBRARY_FRAME in line and not line.startswith(("E ", ">")):
            run.append(line)
            continue
        if len(run) > 1:
            folded.append(f"... ({len(run) - 1} library frames)")
        folded += run[-1:]
        run = []
        folded.append(line)
    return folded[:-1]


def _trim(text: str, limit: int = MAX_OUTPUT_CHARS) -> str:
    return middle_at_lines(text, limit)


def _stack_trace(entry: LogEntry) -> str:
    trace = entry.payload.get("stack_trace") or entry.payload.get("exception") or ""
    if isinstance(trace, str) and trace:
        return trace
    return entry.message if "Traceback (most recent call last)" in entry.message else ""


def _traceback_draft(entry: LogEntry) -> _Draft:
    first = entry.message.splitlines()[0] if entry.message else ""
    where = f"{entry.source_file}:{entry.source_line}" if entry.source_file else entry.service_name
    trace = "\n".join(line for line in _stack_trace(entry).splitlines() if not _CARETS.fullmatch(line))
    text = f"{entry.timestamp.isoformat()} {entry.severity} {first}\n{trace}"
    return _Draft("log-line", f"error log with traceback: {first[:80]}", _trim(text), where or "logs")


def _template_draft(template: LogTemplate, logs: LogSource | None) -> _Draft:
    seen = f"{_when(template.first_seen)} .. {_when(template.last_seen)}"
    lines = [
        f"template: {template.template}",
        f"count: {template.count}, severity: {template.severity}"
        + (f", status {template.status_class}" if template.status_class else "")
        + f", seen {seen}",
    ]
    if template.sources:
        lines.append("logged at: " + ", ".join(template.sources[:3]))
    if template.tests:
        more = f" and {len(template.tests) - 3} more" if len(template.tests) > 3 else ""
        lines.append("during tests: " + ", ".join(template.tests[:3]) + more)
    lines += [f"example: {example.splitlines()[0][:300]}" for example in template.examples[:2]]
    source = f"{logs.name if logs else 'logs'} template {template.id}"
    return _Draft(
        "log-template", f"{template.severity} x{template.count}: {template.template[:80]}", "\n".join(lines), source
    )


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="milliseconds") if moment else "?"


def _code_draft(repo: Path, location: Location) -> _Draft:
    path = repo / location.file
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    center = location.line or 1
    start = max(1, center - SNIPPET_CONTEXT)
    end = min(len(lines), center + SNIPPET_CONTEXT)
    snippet = "\n".join(f"{n:5d}{'>' if n == location.line else ' '} {lines[n - 1]}" for n in range(start, end + 1))
    where = f"{location.file}:{location.line}" if location.line else location.file
    title = f"{where} {location.function}".strip()
    text = f"score {location.score}: " + "; ".join(location.reasons) + "\n" + snippet
    return _Draft("code", title, text, where)


def _commit_drafts(repo: Path, commits: list[Commit], locations: list[Location]) -> list[_Draft]:
    top_files = [loc.file for loc in locations[:MAX_LOCATIONS]]
    drafts = []
    for commit in commits:
        touched = [f for f in top_files if f in commit.files]
        if not touched:
            continue
        diff = commit_diff(repo, commit.sha, touched[0])
        text = (
            f"{commit.sha[:12]} {commit.date} {commit.author}\n{commit.subject}\nfiles: {', '.join(commit.files[:10])}"
        )
        drafts.append(
            _Draft("commit", f"recent commit {commit.sha[:8]}: {commit.subject[:70]}", f"{text}\n{diff}", commit.sha)
        )
        if len(drafts) >= MAX_COMMITS:
            break
    return drafts


def _test_windows(run: TestRun, tests: list[str]) -> dict[str, tuple[datetime, datetime]]:
    wanted = set(tests)
    return {
        r.nodeid: (r.started_at, r.finished_at or r.started_at)
        for r in run.results
        if r.nodeid in wanted and r.started_at is not None
    }


# ---------------------------------------------------------------- budget


def _bounded(
    category_id: str,
    drafts: list[_Draft],
    locations: list[Location],
    redactor: Redactor,
    budget_tokens: int,
    notes: list[str],
) -> EvidenceBundle:
    items: list[EvidenceItem] = []
    used = 0
    dropped = 0
    for draft in drafts:
        title, text, source = redactor.redact(draft.title), redactor.redact(draft.text), redactor.redact(draft.source)
        cost = estimate_tokens(title) + estimate_tokens(text) + estimate_tokens(source)
        room = budget_tokens - used
        if cost > room:
            spare_chars = (room - estimate_tokens(title) - estimate_tokens(source)) * 4 - 40
            if spare_chars < MIN_TRIMMED_CHARS:
                dropped += 1
                continue
            text = head_at_line(text, spare_chars) + "\n... (trimmed to the budget)"
            cost = estimate_tokens(title) + estimate_tokens(text) + estimate_tokens(source)
        items.append(EvidenceItem(id=f"E{len(items) + 1}", kind=draft.kind, title=title, text=text, source=source))
        used += cost
    return EvidenceBundle(
        category_id=category_id,
        items=items,
        locations=locations,
        token_estimate=used,
        notes=[redactor.redact(n) for n in notes],
        dropped=dropped,
    )
