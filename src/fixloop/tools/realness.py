"""Flag test runs that prove nothing: all skipped, fake fast passes, no network, setup hangs."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path, PurePosixPath

from fixloop.config import Settings
from fixloop.records import Finding, TestResult, TestRun
from fixloop.tools.code_search import function_span

NETWORK_PATH_WORDS = frozenset({"e2e", "staging", "integration", "mission_critical", "live", "real", "acceptance"})
NETWORK_MARKERS = frozenset(
    {"e2e", "staging", "integration", "network", "real_services", "live", "mission_critical", "websocket", "websockets"}
)
TIMEOUT_PATTERN = re.compile(r"\bTimeout\b(?!\s*=)|Timeout \(>|timed out", re.IGNORECASE)
# Where a failure states what happened: pytest's "E   " lines, an exception line of a native
# traceback, pytest-timeout's "+++ Timeout +++" banner, fixloop's own "Timeout: ..." marker. Source
# lines and the argument lines of a traceback ("timeout=5.0", "timeout = 5.0") are left out.
MESSAGE_LINE = re.compile(
    r"^(?:E\s|Failed: |Timeout: |\+{3,} ?Timeout|[A-Za-z_][\w.]*(?:Error|Exception|Failed|[Tt]imeout)(?::|$))"
)
SWALLOWED_PATTERNS = (
    re.compile(r"Traceback \(most recent call last\)"),
    re.compile(r"^(?:ERROR|CRITICAL)\b", re.MULTILINE),
    re.compile(r"\b[A-Z]\w*(?:Error|Exception): \S"),
    re.compile(r"\bHTTP 5\d\d\b|\bstatus(?: code)?[ =:]+5\d\d\b|\b1011\b.*internal error", re.IGNORECASE),
)
EVIDENCE_CHARS = 400
# A test that expects an error: it asserts on what it captured, or on a raised exception.
_RAISES = r"pytest\.raises|assertRaises|assertLogs|assertNoLogs"
EXPECTS_ERROR = {
    "log": re.compile(rf"\bcaplog\b|{_RAISES}"),
    "stderr": re.compile(rf"\bcapsys\b|\bcapfd\b|{_RAISES}"),
    "stdout": re.compile(rf"\bcapsys\b|\bcapfd\b|{_RAISES}"),
}


def is_networked(result: TestResult) -> bool:
    """An e2e / integration test by its path or markers: it must talk to the target to prove anything."""
    path = PurePosixPath(result.file or result.nodeid.split("::")[0])
    words = {p.lower() for p in path.parent.parts} | {w.lower() for w in path.stem.split("_")}
    return bool(words & NETWORK_PATH_WORDS or {k.lower() for k in result.keywords} & NETWORK_MARKERS)


def check_realness(run: TestRun, settings: Settings, *, target_ports: list[int] | None = None) -> list[Finding]:
    """Findings about ``run``; ``target_ports`` are the ports a real e2e test must connect to."""
    findings: list[Finding] = []
    findings += _collection_errors(run)
    findings += _skips(run)
    findings += _timeouts(run)
    findings += _child_exits(run)
    for result in run.results:
        if result.outcome not in ("passed", "xpassed"):
            continue
        if is_networked(result):
            no_network = _no_network(result, target_ports)
            if no_network:  # a fast pass with a real round trip to the target is just fast
                findings += _fake_pass(result, settings.tests.fake_pass_seconds)
            findings += no_network
        findings += _swallowed(result, Path(run.cwd) if run.cwd else None)
    return findings


def _collection_errors(run: TestRun) -> list[Finding]:
    out = []
    for error in run.collection_errors:
        where, _, detail = error.partition(": ")
        cause = _error_line(detail or error)
        because = f" ({cause})" if cause else ""
        out.append(
            Finding(
                kind="collection-error",
                test=where or None,
                message=f"{where or 'pytest'} could not be collected{because}: its tests never ran",
                evidence=_clip(detail or error),
                severity="error",
            )
        )
    return out


def _error_line(text: str) -> str:
    """The last line of a failure that states the exception (pytest's ``E   Type: message``)."""
    lines = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
    lines = lines or [
        line.strip() for line in text.splitlines() if re.match(r"^[A-Za-z_][\w.]*(?:Error|Exception): ", line)
    ]
    return lines[-1][:200] if lines else ""


def _skips(run: TestRun) -> list[Finding]:
    skipped = [r for r in run.results if r.outcome == "skipped"]
    if not skipped:
        if not run.results and not run.collection_errors and not run.timed_out:
            return [
                Finding(
                    kind="no-tests", message="no test ran at all", evidence=_clip(run.stdout_tail), severity="error"
                )
            ]
        return []
    reasons = Counter(r.skip_reason or "no reason given" for r in skipped)
    summary = "; ".join(f"{n}x {reason}" for reason, n in reasons.most_common(5))
    top_reason = reasons.most_common(1)[0][0]
    if len(skipped) == len(run.results):
        return [
            Finding(
                kind="all-skipped",
                test=skipped[0].file or None,
                message=f"all {len(skipped)} tests were skipped, the run proves nothing: {top_reason}",
                evidence=summary,
                severity="error",
            )
        ]
    return [
        Finding(
            kind="skipped",
            message=f"{len(skipped)} of {len(run.results)} tests were skipped (not counted as passed)",
            evidence=summary,
            severity="info",
        )
    ]


def _timeouts(run: TestRun) -> list[Finding]:
    out = []
    if run.timed_out:
        out.append(
            Finding(
                kind="timeout",
                message="the whole pytest run exceeded its time limit and was killed",
                evidence=_clip(run.stdout_tail),
                severity="error",
            )
        )
    for r in run.results:
        if r.outcome in ("failed", "error") and says_timeout(r.longrepr):
            setup = r.phase == "setup"
            out.append(
                Finding(
                    kind="setup-timeout" if setup else "timeout",
                    test=r.nodeid,
                    message=f"{r.nodeid} timed out in {'fixture setup' if setup else r.phase}",
                    evidence=_clip(r.longrepr),
                    severity="error",
                )
            )
    return out


def _child_exits(run: TestRun) -> list[Finding]:
    """A crashed pytest process, and the tests that never ran (hang, crash, the run's limit)."""
    out = []
    for end in run.child_exits:
        if end.reason != "crash":
            continue  # a hang is its test's timeout finding; the run's limit is the run's
        status = f"killed by {end.signal}" if end.signal else f"exit status {end.exit_code}"
        where = f" while running {end.last_test}" if end.last_test and not end.detail else f" {end.detail}"
        if end.detail and end.last_test:
            where += f" (the last test it started: {end.last_test})"
        then = "; a new pytest process ran the tests it had not reached" if end.restarted else ""
        out.append(
            Finding(
                kind="crash",
                test=end.last_test if not end.detail else None,
                message=f"the pytest process crashed ({status}){where}{then}",
                evidence=f"round {end.round}, exit code {end.exit_code}"
                + (f", signal {end.signal}" if end.signal else "")
                + (f", last test started: {end.last_test}" if end.last_test else ""),
                severity="error",
            )
        )
    if run.never_ran:
        uncollected = any(e.reason == "crash" and "collection" in e.detail for e in run.child_exits)
        what = "selected targets (pytest ended before its collection finished)" if uncollected else "tests"
        out.append(
            Finding(
                kind="never-ran",
                message=f"never ran: {len(run.never_ran)} {what}; {_never_ran_cause(run)}",
                evidence=_clip(", ".join(run.never_ran)),
                severity="error",
            )
        )
    return out


def _never_ran_cause(run: TestRun) -> str:
    reasons = [e.reason for e in run.child_exits]
    if "run-timeout" in reasons:
        return "the whole run hit its timeout"
    if reasons:
        return f"pytest ended early ({', '.join(dict.fromkeys(reasons))}) and the restarts ran out"
    return "pytest did not run them"


def says_timeout(longrepr: str) -> bool:
    """The failure's own message says it timed out (not a ``timeout=`` in a traceback's source lines)."""
    lines = (line for line in longrepr.splitlines() if MESSAGE_LINE.match(line))
    return any(TIMEOUT_PATTERN.search(line) for line in lines)


def _fake_pass(result: TestResult, limit: float) -> list[Finding]:
    """The test body (not its fixtures, which a loaded machine slows down) ran faster than a round trip."""
    body = result.call_duration if result.call_duration is not None else result.duration
    if body >= limit:
        return []
    return [
        Finding(
            kind="fake-pass",
            test=result.nodeid,
            message=f"{result.nodeid} passed in {body:.4f} s, faster than any round trip to the target",
            evidence=f"test body {body:.6f} s < {limit:g} s (all phases {result.duration:.6f} s); "
            f"connections: {_connections(result)}",
        )
    ]


def _no_network(result: TestResult, target_ports: list[int] | None) -> list[Finding]:
    if target_ports:
        relevant = [c for c in result.connections if c.port in target_ports]
        want = f"no connection to the target ports {', '.join(map(str, target_ports))}"
    else:
        relevant = list(result.connections)
        want = "no network connection at all"
    if relevant:
        return []
    return [
        Finding(
            kind="no-network",
            test=result.nodeid,
            message=f"{result.nodeid} is an e2e test but opened {want}",
            evidence=f"connections: {_connections(result)}",
        )
    ]


def _swallowed(result: TestResult, repo: Path | None) -> list[Finding]:
    for name, text in (("log", result.log), ("stderr", result.stderr), ("stdout", result.stdout)):
        for pattern in SWALLOWED_PATTERNS:
            m = pattern.search(text)
            if m and not _expected(result, name, repo):
                start = text.rfind("\n", 0, m.start()) + 1
                return [
                    Finding(
                        kind="swallowed-failure",
                        test=result.nodeid,
                        message=f"{result.nodeid} passed but its captured {name} shows an error",
                        evidence=_clip(text[start:]),
                    )
                ]
    return []


def _expected(result: TestResult, stream: str, repo: Path | None) -> bool:
    """The test reads what it captured or expects an exception: an error there is what it tests."""
    source = _test_source(result, repo)
    return bool(source) and bool(EXPECTS_ERROR[stream].search(source))


def _test_source(result: TestResult, repo: Path | None) -> str:
    parts = result.nodeid.split("::")
    if repo is None or len(parts) < 2:
        return ""
    path = repo / (result.file or parts[0])
    span = function_span(path, ".".join(p.split("[", 1)[0] for p in parts[1:]))
    if span is None:
        return ""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[span[0] - 1 : span[1]])


def _connections(result: TestResult) -> str:
    return ", ".join(f"{c.host}:{c.port} x{c.count}" for c in result.connections) or "none"


def _clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= EVIDENCE_CHARS else text[:EVIDENCE_CHARS] + " …"
