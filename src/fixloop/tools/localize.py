"""Rank the files and functions of the target repo where a category's root cause most likely is.

Signals, each adding to a file's score with a reason:

- ``sourceLocation`` of error log entries in the failing tests' window (strongest);
- frames of stack traces in error log entries and in the tests' output (own code only; test
  files count little unless the category is a test defect);
- where the error's literals are defined or raised: quoted strings and event names from the
  failure and the error log messages, searched in the repo's source files;
- recent focused commits touching a candidate (``git log``);
- the focus word in the path.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from fixloop.interfaces import LogEntry
from fixloop.records import Category, Frame, Location, TestRun
from fixloop.tools.git_history import Commit, focused_commits
from fixloop.tools.signatures import is_test_file, own_frames, parse_frames

W_SOURCE_LOCATION = 3.0
W_CAUGHT = 1.0  # sourceLocation of an entry that carries a traceback: where it was caught, not raised
W_LOG_FRAME = 2.0
W_APP_FRAME = 2.0
W_INNERMOST = 2.0  # extra for the frame that raised
W_TEST_FRAME = 0.5
W_TEST_FRAME_DEFECT = 4.0
W_LITERAL_RAISE = 2.0
W_LITERAL = 1.0
W_COMMIT = 1.5
W_FOCUS = 0.5
MAX_FILES = 4000
SKIP_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".fixloop", "site-packages", "build"})
_QUOTED = re.compile(r"'([^'\n]{3,80})'|\"([^\"\n]{3,80})\"")
_SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
_RAISING = re.compile(r"\braise\b|\.(?:error|exception|critical|warning)\(|close\(|\bcode\s*=|status", re.IGNORECASE)
_MESSAGE_HEAD = re.compile(r"^([A-Za-z][\w ,'-]{10,80}?)(?::|\s-\s|$)")


@dataclass
class _Candidate:
    file: str
    score: float = 0.0
    function: str = ""
    line: int | None = None
    strength: float = 0.0  # weight of the signal that set function/line
    reasons: list[str] = field(default_factory=list)
    seen: set[tuple[str, int | None, str]] = field(default_factory=set)

    def add(self, weight: float, reason: str, *, function: str = "", line: int | None = None, key: str = "") -> None:
        """Add ``weight`` once per distinct (reason, line, key): a hundred equal log lines are one signal."""
        marker = (reason, None if key else line, key)
        if marker in self.seen:
            return
        self.seen.add(marker)
        self.score += weight
        if reason not in self.reasons:
            self.reasons.append(reason)
        if (function or line) and weight > self.strength:
            self.function, self.line, self.strength = function, line, weight


def localize(
    category: Category,
    run: TestRun,
    *,
    repo: Path,
    entries: Iterable[LogEntry] = (),
    focus: str = "",
    k: int = 5,
    commits: list[Commit] | None = None,
) -> list[Location]:
    """The top ``k`` locations for ``category``, best first, each with the reasons it was ranked."""
    repo = repo.resolve()
    sources = source_files(repo)
    candidates: dict[str, _Candidate] = {}

    def bump(
        path: str, weight: float, reason: str, *, function: str = "", line: int | None = None, key: str = ""
    ) -> None:
        rel = _relative(path, repo, sources)
        if rel is None:
            return
        candidates.setdefault(rel, _Candidate(rel)).add(weight, reason, function=function, line=line, key=key)

    errors = [e for e in entries if e.severity in ("ERROR", "CRITICAL", "ALERT", "EMERGENCY")]
    traced = {id(e): _log_frames(e, repo) for e in errors}
    any_traceback = any(traced.values())
    for entry in errors:
        frames = traced[id(entry)]
        if entry.source_file:
            if frames:
                weight, reason = W_CAUGHT, "error caught and logged here"
            elif any_traceback:  # a traceback elsewhere explains the error; this site only reports it
                weight, reason = W_CAUGHT, "error reported here"
            else:
                weight, reason = W_SOURCE_LOCATION, "sourceLocation of an error log entry"
            bump(entry.source_file, weight, reason, function=entry.source_function, line=entry.source_line)
        for index, frame in enumerate(frames):
            reason = "frame of a traceback in the logs"
            bump(frame.file, W_LOG_FRAME, reason, function=frame.function, line=frame.line, key="frame")
            if index == 0:
                bump(
                    frame.file,
                    W_INNERMOST,
                    "raised here (innermost frame in the logs)",
                    function=frame.function,
                    line=frame.line,
                )

    tests = set(category.tests)
    defect = category.kind == "test-defect"
    for result in run.results:
        if result.nodeid not in tests:
            continue
        for frame in own_frames(parse_frames(result.longrepr), repo=repo, limit=8):
            if is_test_file(frame.file):
                weight = W_TEST_FRAME_DEFECT if defect else W_TEST_FRAME
                reason = "frame in the test's traceback"
                bump(frame.file, weight, reason, function=frame.function, line=frame.line, key="frame")
            else:
                bump(
                    frame.file,
                    W_APP_FRAME,
                    "frame in the failure's traceback",
                    function=frame.function,
                    line=frame.line,
                )
        if defect:
            path, function = _test_place(result.nodeid, result.file)
            line = function_line(repo / path, function)
            bump(path, W_TEST_FRAME_DEFECT, "the defective test itself", function=function, line=line, key="test")
    for item in category.findings:
        if item.test:
            path, function = _test_place(item.test, "")
            line = function_line(repo / path, function)
            bump(path, W_TEST_FRAME_DEFECT, f"realness finding {item.kind}", function=function, line=line, key="test")

    literals = failure_literals(category, run, errors)
    for path, line, text, literal in search_literals(repo, sources, literals):
        raising = bool(_RAISING.search(text))
        weight = W_LITERAL_RAISE if raising else W_LITERAL
        if is_test_file(path) and not defect:
            weight *= 0.2
        what = "raised/logged" if raising else "defined"
        bump(
            path,
            weight,
            f"error literal {what} here",
            function=enclosing_function(repo / path, line),
            line=line,
            key=literal,
        )

    for commit in commits if commits is not None else focused_commits(repo):
        for path in commit.files:
            if path in candidates:
                candidates[path].add(W_COMMIT, f"changed by recent commit {commit.sha[:8]} ({commit.subject[:60]})")
    focus_word = _focus_stem(focus)
    if focus_word:
        for path, candidate in candidates.items():
            if focus_word in path.lower():
                candidate.add(W_FOCUS, f"path matches focus '{focus}'")

    ranked = sorted(candidates.values(), key=lambda c: (-c.score, is_test_file(c.file), c.file))[:k]
    return [
        Location(file=c.file, function=c.function, line=c.line, score=round(c.score, 2), reasons=c.reasons)
        for c in ranked
    ]


# ---------------------------------------------------------------- repository files


def source_files(repo: Path) -> list[str]:
    """Python source files of ``repo`` (posix, relative), skipping virtualenvs and caches."""
    return list(_source_files(str(repo.resolve())))


@lru_cache(maxsize=16)
def _source_files(root: str) -> tuple[str, ...]:
    base = Path(root)
    found: list[str] = []
    stack = [base]
    while stack and len(found) < MAX_FILES:
        folder = stack.pop()
        try:
            children = sorted(folder.iterdir())
        except OSError:
            continue
        for child in children:
            if child.is_dir():
                if child.name not in SKIP_DIRS and not child.name.startswith("."):
                    stack.append(child)
            elif child.suffix == ".py":
                found.append(child.relative_to(base).as_posix())
    return tuple(sorted(found))


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


# ---------------------------------------------------------------- literals


def failure_literals(category: Category, run: TestRun, errors: list[LogEntry]) -> list[str]:
    """Distinctive strings of the failure: quoted values, event names, error log message heads."""
    texts = [category.signature.message]
    tests = set(category.tests)
    texts += [_e_lines(r.longrepr) for r in run.results if r.nodeid in tests][:5]
    found: dict[str, None] = {}
    for text in texts:
        for match in _QUOTED.finditer(text):
            found.setdefault(match.group(1) or match.group(2), None)
        for word in _SNAKE.findall(text):
            found.setdefault(word, None)
    for entry in errors[:20]:
        head = _MESSAGE_HEAD.match(entry.message)
        if head:
            found.setdefault(head.group(1).strip(), None)
        for match in _QUOTED.finditer(entry.message):
            found.setdefault(match.group(1) or match.group(2), None)
    return [s for s in found if len(s) >= 4 and "<" not in s and not s.startswith(("test_", "http", "/"))][:20]


def _e_lines(longrepr: str) -> str:
    return "\n".join(line for line in longrepr.splitlines() if line.startswith("E ") or line.startswith(">"))


def search_literals(repo: Path, sources: list[str], literals: list[str]) -> list[tuple[str, int, str, str]]:
    """(file, line, text, literal) of every source line containing one of ``literals``."""
    if not literals:
        return []
    pattern = re.compile("|".join(re.escape(s) for s in sorted(literals, key=len, reverse=True)))
    hits = []
    for rel in sources:
        try:
            text = (repo / rel).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if not pattern.search(text):
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for match in pattern.finditer(line):
                hits.append((rel, number, line.strip(), match.group(0)))
    return hits


def enclosing_function(path: Path, line: int) -> str:
    """The innermost function (``Class.method`` or ``function``) of ``path`` containing ``line``."""
    spans = _function_spans(str(path))
    best = ""
    best_size = 1 << 30
    for name, start, end in spans:
        if start <= line <= end and end - start < best_size:
            best, best_size = name, end - start
    return best


@lru_cache(maxsize=256)
def _function_spans(path: str) -> tuple[tuple[str, int, int], ...]:
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return ()
    spans: list[tuple[str, int, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                spans.append((name, child.lineno, child.end_lineno or child.lineno))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return tuple(spans)


def _test_place(nodeid: str, file: str) -> tuple[str, str]:
    """(file, function) of a pytest node id; parametrization and class prefixes dropped."""
    parts = nodeid.split("::")
    return file or parts[0], parts[-1].split("[", 1)[0] if len(parts) > 1 else ""


def function_line(path: Path, name: str) -> int | None:
    """The line where function ``name`` (or ``Class.name``) of ``path`` starts."""
    for qualified, start, _ in _function_spans(str(path)):
        if qualified == name or qualified.endswith(f".{name}"):
            return start
    return None


def _focus_stem(focus: str) -> str:
    word = focus.strip().lower()
    return word[:-1] if word.endswith("s") and len(word) > 3 else word
