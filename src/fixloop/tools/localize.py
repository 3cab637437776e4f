"""Rank the files and functions of the target repo where a category's root cause most likely is.

Signals, each adding to a file's score with a reason (weights below):

- ``sourceLocation`` of error log entries in the failing tests' window (of warnings when no error
  was logged); the innermost frame of a logged traceback counts more than where it was caught;
- frames of stack traces in the tests' output (own code only; test files count little unless
  the category is a test defect, whose test itself is then the prime location);
- where the failure's literals (quoted values, event names, log message parts) are defined or
  raised, and where constants holding them are used; a literal found in many files counts less;
- timeouts: the module function the code calls right after emitting the last event received;
- flaky: functions rebinding module-level state (``global``), the usual cross-request race;
- one step of data flow: an error logged in an ``except`` handler was raised inside the call its
  ``try`` guards (that callee counts, the handler only reports); the values that call (or the call
  a hang waits in) receives from elsewhere count where they are computed (e.g. config loading);
- an unreachable target (connection refused) in an ``environment`` category: the run's settings
  file, which names the target and its start environment;
- recent focused commits (``git log``) touching a candidate, or any source file (less); more when
  the commit's diff changes the candidate's ranked function or a name that function reads;
- the focus word in the path.

Literal matches are lexical evidence: their sum per file is capped so that they cannot outweigh
a traceback or a log site.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TypedDict, Unpack

from fixloop.config import find_config_file
from fixloop.interfaces import LogEntry
from fixloop.records import Category, Frame, Location, TestResult, TestRun
from fixloop.tools.call_paths import assertion_call_paths
from fixloop.tools.code_search import (
    Hit,
    call_inputs,
    constant_name,
    enclosing_function,
    function_line,
    function_span,
    global_writers,
    guarded_calls,
    module_file,
    names_read,
    next_module_call,
    read_lines,
    search_literals,
    search_names,
    source_files,
    value_origins,
)
from fixloop.tools.git_history import Commit, commit_change, focused_commits
from fixloop.tools.package_scope import imported_packages, is_auxiliary
from fixloop.tools.realness import is_networked
from fixloop.tools.signatures import is_test_file, own_frames, parse_frames
from fixloop.tools.spectrum import Spectrum

W_SOURCE_LOCATION = 3.0
W_CAUGHT = 1.0  # sourceLocation of an entry that carries a traceback: where it was caught, not raised
W_WARNING_SITE = 1.0
W_LOG_FRAME = 2.0
W_APP_FRAME = 2.0
W_INNERMOST = 2.0  # extra for the frame that raised
W_INNERMOST_LOG = 4.0  # extra for the innermost own frame of a traceback the target logged: where it raised
W_GUARDED_CALL = 2.0  # the callee whose error an ``except`` handler logged
W_INPUT_ORIGIN = 1.5  # where a value passed into the failing call is computed
W_UNREACHABLE = 3.0  # the settings file naming a target that refused connections
W_COMMIT_HIT = 2.0  # a recent diff changed the ranked function or a name it reads
LITERAL_CAP = 3.0  # most that literal matches add to one file
W_TEST_FRAME = 0.5
W_TEST_FRAME_DEFECT = 4.0
W_LITERAL_RAISE = 2.0
W_LITERAL = 1.0
W_CONSTANT_USE = 1.5
W_NEXT_CALL = 3.0
W_GLOBAL_STATE = 2.0
W_COMMIT = 1.5
W_COMMIT_NEW = 1.0
W_FOCUS = 0.5
W_CALL_PATH = 1.0  # a package function the failing assertion calls (the traceback stops in the test)
W_CALL_PATH_LOCAL = 0.75  # a package function that computed a local the failing assertion reads
W_CALL_PATH_DEEPER = 0.5  # a package function such a function calls
W_SPECTRUM = 3.0  # times the function's Ochiai score, shared by the functions of the spectrum's peak
SPECTRUM_MIN_SCORE = 0.5
SPECTRUM_NEAR_BEST = 0.9  # only functions within this share of the best score count: the spectrum's peak
SPECTRUM_FUNCTIONS = 8  # the most suspicious functions that count
# A file's second suspect function is listed right after it when its own (non-literal) signals weigh this much:
# where a failure was raised and where its input was computed are often both in one module (encode/decode).
SECOND_FUNCTION_MIN = W_INPUT_ORIGIN
TEST_FILE_FACTOR = 0.2  # literal hits in tests count little unless the test is the defect
ERROR_SEVERITIES = ("ERROR", "CRITICAL", "ALERT", "EMERGENCY")
_QUOTED = re.compile(r"'([^'\n]{3,80})'|\"([^\"\n]{3,80})\"")
_SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
_TRUNCATED = re.compile(r"\S*\.\.\.\S*")  # pytest's "'agent_start...nt_completed'"
_RAISING = re.compile(r"\braise\b|\.(?:error|exception|critical|warning)\(|close\(|\bcode\s*=|status", re.IGNORECASE)
_SEGMENT_TAIL = re.compile(r"\s*\(.*\)\s*$")
_GOT_LIST = re.compile(r"got \[([^\]]*)\]")
_ASSIGNED = re.compile(r"^([A-Za-z_]\w*)\s*(?::[^=]+)?=(?!=)")
_UNREACHABLE = re.compile(
    r"Connection ?refused|ECONNREFUSED|Errno 111|No route to host|Network is unreachable"
    r"|Name or service not known|nodename nor servname|getaddrinfo failed",
    re.IGNORECASE,
)


class SignalDetail(TypedDict, total=False):
    """Where in a file a signal points and how it counts: the keyword options of ``_Candidate.add``."""

    function: str
    line: int | None
    key: str
    literal: bool


@dataclass
class _Candidate:
    file: str
    score: float = 0.0
    function: str = ""
    line: int | None = None
    strength: float = 0.0  # weight of the signal that set function/line
    reasons: list[str] = field(default_factory=list)
    seen: set[tuple[str, int | None, str]] = field(default_factory=set)
    literal_total: float = 0.0
    functions: set[str] = field(default_factory=set)  # every function a signal named in this file
    by_function: dict[str, tuple[float, int | None]] = field(default_factory=dict)  # non-literal weight, line

    def runner_up(self) -> tuple[str, int | None, float] | None:
        """A second function of this file with strong signals of its own (>= ``SECOND_FUNCTION_MIN``)."""
        others = [(w, f, line) for f, (w, line) in self.by_function.items() if f != self.function]
        if not others:
            return None
        weight, function, line = max(others, key=lambda item: (item[0], item[1]))
        return (function, line, weight) if weight >= SECOND_FUNCTION_MIN else None

    def add(
        self,
        weight: float,
        reason: str,
        *,
        function: str = "",
        line: int | None = None,
        key: str = "",
        literal: bool = False,
    ) -> None:
        """Add ``weight`` once per distinct (reason, line, key): a hundred equal log lines are one signal."""
        marker = (reason, None if key else line, key)
        if marker in self.seen:
            return
        self.seen.add(marker)
        if literal:
            weight = min(weight, max(0.0, LITERAL_CAP - self.literal_total))
            self.literal_total += weight
        self.score += weight
        if reason not in self.reasons:
            self.reasons.append(reason)
        if function:
            self.functions.add(function)
            if not literal and key != "frame":  # lexical evidence and outer frames name no second suspect
                total, first = self.by_function.get(function, (0.0, line))
                self.by_function[function] = (total + weight, first if first is not None else line)
        if (function or line) and weight > self.strength:
            self.function, self.line, self.strength = function, line, weight

    def point(self, function: str, line: int | None, reason: str) -> None:
        """Name ``function`` as the file's suspect (its score unchanged): a stronger reason than the signals'."""
        self.function, self.line = function, line
        self.functions.add(function)
        if reason not in self.reasons:
            self.reasons.append(reason)


class _Ranking:
    def __init__(self, repo: Path, *, test_defect: bool = False) -> None:
        self.repo = repo
        self.sources = source_files(repo)
        self.candidates: dict[str, _Candidate] = {}
        self.test_defect = test_defect

    def bump(self, path: str, weight: float, reason: str, **signal: Unpack[SignalDetail]) -> None:
        """``_Candidate.add`` on the repo file ``path`` (ignored when it is not one of the repo's)."""
        rel = _relative(path, self.repo, self.sources)
        if rel is not None and weight > 0:
            self.candidates.setdefault(rel, _Candidate(rel)).add(weight, reason, **signal)

    def bump_call(self, module: str, function: str, weight: float, reason: str) -> str | None:
        """Bump the repo file of ``module`` at ``function``; its path, or None when it is not the repo's."""
        target = module_file(self.sources, module)
        if target is not None:
            line = function_line(self.repo / target, function)
            self.bump(target, weight, reason, function=function, line=line)
        return target

    def bump_origins(self, names: Iterable[str], call: str, exclude: str) -> None:
        """Where the values ``names`` (passed into ``call`` in file ``exclude``) are computed."""
        for name in names:
            hits = [h for h in value_origins(self.repo, self.sources, name) if h.file != exclude]
            hits = [h for h in hits if not is_test_file(h.file)]
            spread = len({h.file for h in hits}) or 1
            for hit in hits:
                function = enclosing_function(self.repo / hit.file, hit.line)
                reason = f"computes {name}, passed to {call}"
                self.bump(hit.file, W_INPUT_ORIGIN / spread, reason, function=function, line=hit.line, key=name)

    def top(self, k: int) -> list[Location]:
        """The best ``k``; unless the test is the defect, the package under test before what surrounds it."""
        packages = imported_packages(self.repo, self.sources)

        def outside(candidate: _Candidate) -> bool:
            return not self.test_defect and is_auxiliary(candidate.file, packages)

        ranked = sorted(self.candidates.values(), key=lambda c: (outside(c), -c.score, is_test_file(c.file), c.file))
        out: list[Location] = []
        for c in ranked[:k]:
            out.append(
                Location(file=c.file, function=c.function, line=c.line, score=round(c.score, 2), reasons=c.reasons)
            )
            second = c.runner_up() if c.function else None
            if second is not None:
                function, line, weight = second
                reasons = [r for r in c.reasons if function in r] or [f"signals naming {function} weigh {weight:.1f}"]
                out.append(
                    Location(file=c.file, function=function, line=line, score=round(c.score, 2), reasons=reasons)
                )
        return out[:k]


def localize(
    category: Category,
    run: TestRun,
    *,
    repo: Path,
    entries: Iterable[LogEntry] = (),
    focus: str = "",
    k: int = 5,
    commits: list[Commit] | None = None,
    spectrum: Spectrum | None = None,
) -> list[Location]:
    """The top ``k`` locations for ``category``, best first, each with the reasons it was ranked.

    ``spectrum``: the category's coverage spectrum (``tools/spectrum.py``), when one was measured.
    """
    ranking = _Ranking(repo.resolve(), test_defect=category.kind == "test-defect")
    entries = list(entries)
    errors = [e for e in entries if e.severity in ERROR_SEVERITIES]
    warnings = [e for e in entries if e.severity == "WARNING"] if not errors else []
    _log_signals(ranking, errors, warnings)
    results = [r for r in run.results if r.nodeid in set(category.tests)]
    _traceback_signals(ranking, category, results)
    if category.kind == "environment":
        _unreachable_target_signal(ranking, category, results)
    literals = failure_literals(category, run, errors or warnings)
    _literal_signals(ranking, category, literals)
    if category.kind == "timeout":
        _last_event_signal(ranking, results, entries)
    if category.kind == "flaky":
        _shared_state_signal(ranking)
    if spectrum is not None:
        _spectrum_signal(ranking, spectrum)
    ran = {(f.file, f.function) for f in spectrum.functions if f.failed} if spectrum is not None else set()
    _commit_signals(ranking, commits if commits is not None else focused_commits(ranking.repo), ran)
    _focus_signal(ranking, focus)
    return ranking.top(k)


def _log_signals(ranking: _Ranking, errors: list[LogEntry], warnings: list[LogEntry]) -> None:
    traced = {id(e): _log_frames(e, ranking.repo) for e in errors}
    any_traceback = any(traced.values())
    for entry in errors:
        frames = traced[id(entry)]
        if entry.source_file:
            if frames:
                weight, reason = W_CAUGHT, "error caught and logged here"
            elif any_traceback:  # a traceback elsewhere explains the error; this site only reports it
                weight, reason = W_CAUGHT, "error reported here"
            elif _guarded_signals(ranking, entry):
                weight, reason = W_CAUGHT, "error caught and reported here"
            else:
                weight, reason = W_SOURCE_LOCATION, "sourceLocation of an error log entry"
            ranking.bump(entry.source_file, weight, reason, function=entry.source_function, line=entry.source_line)
        for index, frame in enumerate(frames):
            reason = "frame of a traceback in the logs"
            ranking.bump(frame.file, W_LOG_FRAME, reason, function=frame.function, line=frame.line, key="frame")
            if index == 0:
                reason = "raised here (innermost frame in the logs)"
                ranking.bump(frame.file, W_INNERMOST_LOG, reason, function=frame.function, line=frame.line)
    for entry in warnings:
        if entry.source_file:
            if _guarded_signals(ranking, entry):  # caught and reported: scaled as warnings are
                weight, reason = W_CAUGHT * W_WARNING_SITE / W_SOURCE_LOCATION, "warning caught and reported here"
            else:
                weight, reason = W_WARNING_SITE, "warning logged here"
            ranking.bump(entry.source_file, weight, reason, function=entry.source_function, line=entry.source_line)


def _guarded_signals(ranking: _Ranking, entry: LogEntry) -> bool:
    """A log entry written in an ``except`` handler: the guarded calls raised, their inputs come from elsewhere.

    True when the entry's site is such a handler of a call into the repo's own modules.
    """
    rel = _relative(entry.source_file, ranking.repo, ranking.sources)
    if rel is None or entry.source_line is None:
        return False
    found = False
    for call in guarded_calls(ranking.repo, rel, entry.source_line):
        where = f"{rel}:{entry.source_line}"
        reason = f"raised inside {call.module}.{call.function}, whose error is caught and logged at {where}"
        if ranking.bump_call(call.module, call.function, W_GUARDED_CALL, reason) is not None:
            found = True
            ranking.bump_origins(call.inputs, f"{call.module}.{call.function} (error logged at {where})", rel)
    return found


def _traceback_signals(ranking: _Ranking, category: Category, results: list[TestResult]) -> None:
    defect = category.kind == "test-defect"
    for result in results:
        frames = [
            _named(ranking.repo, f) for f in own_frames(parse_frames(result.longrepr), repo=ranking.repo, limit=8)
        ]
        app_frames = [f for f in frames if not is_test_file(f.file)]
        for frame in frames:
            if is_test_file(frame.file):
                weight = W_TEST_FRAME_DEFECT if defect else W_TEST_FRAME
                reason = "frame in the test's traceback"
            else:
                weight, reason = W_APP_FRAME, "frame in the failure's traceback"
            ranking.bump(frame.file, weight, reason, function=frame.function, line=frame.line, key="frame")
        if app_frames:
            first = app_frames[0]
            reason = "raised here (innermost frame of the failure)"
            ranking.bump(first.file, W_INNERMOST, reason, function=first.function, line=first.line)
            if not defect and not is_networked(result):
                _input_producer_signal(ranking, result, frames)
        elif not defect and frames and not is_networked(result):  # an e2e test's values come from the server
            _call_path_signal(ranking, result, frames[0])
        if defect:
            path, function = _test_place(result.nodeid, result.file)
            line = function_line(ranking.repo / path, function)
            reason = "the defective test itself"
            ranking.bump(path, W_TEST_FRAME_DEFECT, reason, function=function, line=line, key="test")
    if defect:
        for item in category.findings:
            if item.test:
                path, function = _test_place(item.test, "")
                line = function_line(ranking.repo / path, function)
                reason = f"realness finding {item.kind}"
                ranking.bump(path, W_TEST_FRAME_DEFECT, reason, function=function, line=line, key="test")


def _call_path_signal(ranking: _Ranking, result: TestResult, innermost: Frame) -> None:
    """The traceback stops in the test: the package functions its failing line gets its values from."""
    path, function = _test_place(result.nodeid, result.file)
    if innermost.file != path:
        return
    qualname = ".".join(part.split("[", 1)[0] for part in result.nodeid.split("::")[1:]) or function
    for target in assertion_call_paths(ranking.repo, ranking.sources, path, qualname, innermost.line):
        if is_test_file(target.file):
            continue
        if target.level == 1:
            weight = W_CALL_PATH if target.direct else W_CALL_PATH_LOCAL
            what = (
                "called by the test's failing line"
                if target.direct
                else "computes a value the test's failing line reads"
            )
            reason = f"{what} ({target.via})"
        else:
            weight = W_CALL_PATH_DEEPER
            reason = f"called ({target.via}) by a function the test's failing line calls"
        ranking.bump(target.file, weight, reason, function=target.function, line=target.line, key=target.function)


def _input_producer_signal(ranking: _Ranking, result: TestResult, frames: list[Frame]) -> None:
    """Raised in the package on a value the test computed with another package call (``decode(encode(x))``,
    ``client.receive(server.send(...))``): that call made the input the raising code rejected."""
    path, function = _test_place(result.nodeid, result.file)
    test_frame = next((f for f in frames if f.file == path), None)
    if test_frame is None:
        return
    on_the_stack = {(f.file, f.function) for f in frames}
    qualname = ".".join(part.split("[", 1)[0] for part in result.nodeid.split("::")[1:]) or function
    for target in assertion_call_paths(ranking.repo, ranking.sources, path, qualname, test_frame.line):
        if target.level != 1 or is_test_file(target.file) or (target.file, target.function) in on_the_stack:
            continue
        if any(f.file == target.file and f.function.endswith(target.function.rsplit(".", 1)[-1]) for f in frames):
            continue  # the call that raised, named without its class in the traceback
        reason = f"computes the input of the call that raised ({target.via})"
        ranking.bump(
            target.file, W_INPUT_ORIGIN, reason, function=target.function, line=target.line, key=target.function
        )


def _spectrum_signal(ranking: _Ranking, spectrum: Spectrum) -> None:
    """The functions the failing tests run and the passing tests of their files mostly do not (Ochiai)."""
    packages = imported_packages(ranking.repo, ranking.sources)
    eligible = [f for f in spectrum.functions if ranking.test_defect or not is_auxiliary(f.file, packages)]
    floor = max(SPECTRUM_MIN_SCORE, SPECTRUM_NEAR_BEST * max((f.score for f in eligible), default=0.0))
    suspects = [f for f in eligible if f.score >= floor]
    # A broad peak (every function only the one failing test ran) says little: its weight is shared.
    share = W_SPECTRUM / max(1, len(suspects))
    for item in suspects[:SPECTRUM_FUNCTIONS]:
        reason = spectrum.reason(item)
        ranking.bump(item.file, share * item.score, reason, function=item.function, line=item.line)


def _named(repo: Path, frame: Frame) -> Frame:
    """``frame`` with its function filled in from the source (pytest's long location lines name none)."""
    if frame.function or not frame.file.endswith(".py"):
        return frame
    return Frame.model_construct(
        file=frame.file, line=frame.line, function=enclosing_function(repo / frame.file, frame.line)
    )


def _literal_signals(ranking: _Ranking, category: Category, literals: dict[str, float]) -> None:
    """Where the failure's literals are defined or raised, and where constants holding them are used."""
    defect = category.kind == "test-defect"
    hits = search_literals(ranking.repo, ranking.sources, list(literals))
    spread = _spread(hits)
    constants: dict[str, str] = {}
    defined_in: dict[str, str] = {}
    for hit in hits:
        raising = bool(_RAISING.search(hit.text))
        weight = (W_LITERAL_RAISE if raising else W_LITERAL) * literals.get(hit.literal, 1.0)
        weight /= spread.get(hit.literal, 1)
        if is_test_file(hit.file):
            weight *= 1.0 if defect else TEST_FILE_FACTOR
        elif constant_name(hit.text):
            constants[constant_name(hit.text)] = hit.literal
            defined_in[constant_name(hit.text)] = hit.file
        what = "raised/logged" if raising else "defined"
        function = enclosing_function(ranking.repo / hit.file, hit.line)
        reason = f"error literal {what} here"
        ranking.bump(hit.file, weight, reason, function=function, line=hit.line, key=hit.literal, literal=True)
    uses = [h for h in search_names(ranking.repo, ranking.sources, constants) if not is_test_file(h.file)]
    uses = [h for h in uses if defined_in.get(_name_of(h, constants)) != h.file]  # not the defining module itself
    use_spread = _spread(uses)
    for hit in uses:
        name = _name_of(hit, constants)
        weight = W_CONSTANT_USE / use_spread.get(hit.literal, 1)
        function = enclosing_function(ranking.repo / hit.file, hit.line)
        reason = f"uses {name} ('{hit.literal}')"
        ranking.bump(hit.file, weight, reason, function=function, line=hit.line, key=hit.literal, literal=True)


def _name_of(hit: Hit, constants: dict[str, str]) -> str:
    return next((n for n, lit in constants.items() if lit == hit.literal and n in hit.text), hit.literal)


def _spread(hits: list[Hit]) -> dict[str, int]:
    """Per literal, in how many non-test files it occurs (a literal found everywhere says little)."""
    files: dict[str, set[str]] = {}
    for hit in hits:
        if not is_test_file(hit.file):
            files.setdefault(hit.literal, set()).add(hit.file)
    return {literal: len(found) for literal, found in files.items()}


def _last_event_signal(ranking: _Ranking, results: list[TestResult], entries: list[LogEntry]) -> None:
    """A hang after event X: the work the code does right after emitting X is the suspect.

    X is the last event a hung test received: from its message ("got [..., 'x']") or, failing
    that, the last ``event`` the target logged for that test (payload ``test``).
    """
    last_events = []
    for result in results:
        match = _GOT_LIST.search(_e_lines(result.longrepr))
        received = [m.group(1) or m.group(2) for m in _QUOTED.finditer(match.group(1))] if match else []
        if not received:
            logged = [
                str(e.payload["event"])
                for e in entries
                if e.payload.get("test") == result.nodeid and e.payload.get("event")
            ]
            received = logged
        if received:
            last_events.append(received[-1])
    for event in dict.fromkeys(last_events):
        hits = [h for h in search_literals(ranking.repo, ranking.sources, [event]) if not is_test_file(h.file)]
        names = {constant_name(h.text): event for h in hits if constant_name(h.text)}
        sites = [h for h in hits if not constant_name(h.text)]
        sites += [h for h in search_names(ranking.repo, ranking.sources, names) if not is_test_file(h.file)]
        for site in sites:
            call = next_module_call(ranking.repo, site.file, site.line)
            if call is None:
                continue
            module, function, line = call
            reason = f"{module}.{function} runs right after the last event the client received ('{event}')"
            if ranking.bump_call(module, function, W_NEXT_CALL, reason) is not None:
                inputs = call_inputs(ranking.repo, site.file, line, function)
                ranking.bump_origins(inputs, f"{module}.{function} (the call that did not return)", site.file)


def _shared_state_signal(ranking: _Ranking) -> None:
    """Flaky: functions that rebind module-level names share state across concurrent requests."""
    for rel in ranking.sources:
        if is_test_file(rel):
            continue
        for function, line, names in global_writers(ranking.repo, rel):
            reason = f"{function} rebinds module-level {', '.join(names)} (shared across requests: a race suspect)"
            ranking.bump(rel, W_GLOBAL_STATE, reason, function=function, line=line)


def _commit_signals(ranking: _Ranking, commits: list[Commit], ran: set[tuple[str, str]]) -> None:
    """Recent commits: the files they touched, more when they changed the ranked function or a name it reads.

    ``ran``: (file, function) the failing tests executed (the coverage spectrum). A commit that changed
    another function of a ranked file, one the failing tests ran or another signal named, makes that
    function the file's suspect (the file's score is unchanged: history does not move files by itself).
    """
    for commit in commits:
        reason = f"changed by recent commit {commit.sha[:8]} ({commit.subject[:60]})"
        for path in commit.files:
            if path in ranking.candidates:
                candidate = ranking.candidates[path]
                candidate.add(W_COMMIT, reason)
                hit = _commit_hit(ranking.repo, commit, candidate)
                if hit:
                    candidate.add(W_COMMIT_HIT, f"recent commit {commit.sha[:8]} changed {hit}")
                    continue
                changed = _changed_suspect(ranking.repo, commit, candidate, ran)
                if changed is not None:
                    function, line = changed
                    why = "the failing tests ran it" if (path, function) in ran else "the failure's signals name it"
                    candidate.point(function, line, f"recent commit {commit.sha[:8]} changed {function} ({why})")
            elif path.endswith(".py") and path in ranking.sources:
                ranking.bump(path, W_COMMIT_NEW, reason)


def _changed_suspect(
    repo: Path, commit: Commit, candidate: _Candidate, ran: set[tuple[str, str]]
) -> tuple[str, int | None] | None:
    """A function of the candidate's file that ``commit`` changed and the failing tests ran (or a signal named)."""
    if not candidate.file.endswith(".py"):
        return None
    path = repo / candidate.file
    for start, end in commit_change(repo, commit.sha, candidate.file).spans:
        for line in range(start, end + 1):
            function = enclosing_function(path, line)
            if function and ((candidate.file, function) in ran or function in candidate.functions):
                return function, function_line(path, function)
    return None


def _commit_hit(repo: Path, commit: Commit, candidate: _Candidate) -> str:
    """What of the candidate's ranked function ``commit`` changed: the function itself or a name it reads."""
    if not candidate.function or not candidate.file.endswith(".py"):
        return ""
    span = function_span(repo / candidate.file, candidate.function)
    change = commit_change(repo, commit.sha, candidate.file)
    if span is not None and any(start <= span[1] and span[0] <= end for start, end in change.spans):
        return candidate.function
    assigned = {m.group(1) for text in change.lines if (m := _ASSIGNED.match(text))}
    read = assigned & names_read(repo / candidate.file, candidate.function)
    return f"{', '.join(sorted(read))}, read by {candidate.function}" if read else ""


def _unreachable_target_signal(ranking: _Ranking, category: Category, results: list[TestResult]) -> None:
    """The target refused connections: its address and start environment come from the run's settings file."""
    texts = [category.signature.message, *(_e_lines(r.longrepr) for r in results)]
    if not any(_UNREACHABLE.search(text) for text in texts):
        return
    source, table = find_config_file(ranking.repo)
    if source is None:
        return
    rel = source.relative_to(ranking.repo).as_posix()
    lines = read_lines(ranking.repo, rel)
    header = "[tool.fixloop.target]" if rel.endswith("pyproject.toml") else "[target]"
    line = next((n for n, text in enumerate(lines, start=1) if text.strip() == header), None)
    target = table.get("target", {}) if isinstance(table.get("target"), dict) else {}
    url = target.get("http_url") or target.get("ws_url") or ""
    at = f" at {url}" if url else ""
    reason = f"target unreachable{at} (connection refused): its address and start environment come from {rel}"
    ranking.candidates.setdefault(rel, _Candidate(rel)).add(W_UNREACHABLE, reason, line=line)


def _focus_signal(ranking: _Ranking, focus: str) -> None:
    focus_word = _focus_stem(focus)
    if focus_word:
        for path, candidate in ranking.candidates.items():
            if focus_word in path.lower():
                candidate.add(W_FOCUS, f"path matches focus '{focus}'")


# ---------------------------------------------------------------- paths and literals


def _relative(path: str, repo: Path, sources: list[str]) -> str | None:
    """``path`` relative to ``repo`` when it names one of its files (absolute, relative, or a suffix)."""
    clean = path.replace("\\", "/")
    root = repo.as_posix() + "/"
    if clean.startswith(root):
        clean = clean[len(root) :]
    clean = clean.removeprefix("./")
    if clean in _source_set(tuple(sources)):
        return clean
    if clean.startswith("/") or not clean.endswith(".py"):
        matches = [s for s in sources if clean.endswith("/" + s)]
    else:
        matches = [s for s in sources if s.endswith("/" + clean) or clean.endswith("/" + s)]
    return matches[0] if len(matches) == 1 else None


@lru_cache(maxsize=16)
def _source_set(sources: tuple[str, ...]) -> frozenset[str]:
    return frozenset(sources)


def _log_frames(entry: LogEntry, repo: Path) -> list[Frame]:
    texts = [entry.message, *(str(v) for v in entry.payload.values() if isinstance(v, str))]
    return own_frames(parse_frames("\n".join(texts)), repo=repo, limit=5)


def failure_literals(category: Category, run: TestRun, entries: list[LogEntry]) -> dict[str, float]:
    """Distinctive strings of the failure, each with a factor for its weight.

    Quoted values and snake_case names of the exception lines count 1; of a log message split at
    ": ", the last part (the cause, e.g. an exception's text) counts 1.5 and the parts before it
    (the logger's framing, e.g. "websocket auth refused") 0.5.
    """
    texts = [category.signature.message]
    tests = set(category.tests)
    texts += [_e_lines(r.longrepr) for r in run.results if r.nodeid in tests][:5]
    found: dict[str, float] = {}
    for raw in texts:
        text = _TRUNCATED.sub(" ", raw)
        for match in _QUOTED.finditer(text):
            found.setdefault(match.group(1) or match.group(2), 1.0)
        for word in _SNAKE.findall(text):
            found.setdefault(word, 1.0)
    for entry in entries[:20]:
        first = entry.message.split("\n", 1)[0]
        segments = [_SEGMENT_TAIL.sub("", part).strip() for part in first.split(": ")]
        for index, segment in enumerate(segments):
            if len(segment) >= 10 and re.fullmatch(r"[A-Za-z][\w ,'-]+", segment):
                factor = 1.5 if index == len(segments) - 1 and len(segments) > 1 else 0.5 if len(segments) > 1 else 1.0
                found[segment] = max(found.get(segment, 0.0), factor)
        for match in _QUOTED.finditer(first):
            found.setdefault(match.group(1) or match.group(2), 1.0)
    kept = [s for s in found if len(s) >= 4 and "<" not in s and not s.startswith(("test_", "http", "/"))][:24]
    return {s: found[s] for s in kept}


def _e_lines(longrepr: str) -> str:
    return "\n".join(line for line in longrepr.splitlines() if line.startswith("E "))


def _test_place(nodeid: str, file: str) -> tuple[str, str]:
    """(file, function) of a pytest node id; parametrization and class prefixes dropped."""
    parts = nodeid.split("::")
    return file or parts[0], parts[-1].split("[", 1)[0] if len(parts) > 1 else ""


def _focus_stem(focus: str) -> str:
    word = focus.strip().lower()
    return word[:-1] if word.endswith("s") and len(word) > 3 else word
