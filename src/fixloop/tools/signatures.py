"""Failure signatures: exception type, normalized message, HTTP status, close code, own frames.

A signature is what two failures with the same cause have in common. It is built from the
*decisive* lines of a pytest longrepr (the ``E   `` lines and the final ``path:line: Type`` line),
not from the whole output, so that it stays cheap for thousands of failures.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fixloop.records import Frame, Signature, TestResult

# ---------------------------------------------------------------- message normalization

_MASKS: tuple[tuple[str, str], ...] = (
    (r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?", "<ts>"),
    (r"\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b", "<ts>"),
    (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "<id>"),
    (r"\b0x[0-9a-fA-F]+\b", "<hex>"),
    (r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b", "<hex>"),
    (r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b", "<ip>"),
    (r"(?<=localhost):\d+\b", ":<port>"),
    (r"(?<=[\w\]]):\d{2,5}\b(?=[/\s'\")]|$)", ":<port>"),
    (r"\b[A-Za-z]+[-_][A-Za-z0-9]*\d[A-Za-z0-9]*\b", "<id>"),
    (r"\b\d+(?:\.\d+)?\b", "<num>"),
)
# One pass over the text: the alternatives are tried in the order above at each position.
_MASK_ALL = re.compile("|".join(f"(?P<m{n}>{pattern})" for n, (pattern, _) in enumerate(_MASKS)))
_MASK_OF = {f"m{n}": mask for n, (_, mask) in enumerate(_MASKS)}
_SPACES = re.compile(r"\s+")
MAX_MESSAGE = 200


def _mask(match: re.Match[str]) -> str:
    return _MASK_OF[match.lastgroup or ""]


@lru_cache(maxsize=8192)
def normalize_message(message: str) -> str:
    """``message`` with timestamps, uuids, hex, ips, ports, ids and numbers masked, one line."""
    text = _SPACES.sub(" ", message).strip()
    return _MASK_ALL.sub(_mask, text)[:MAX_MESSAGE]


# ---------------------------------------------------------------- status codes
# Numbers first (the regex engine scans for digits fast), then a look at the words around them.

_STATUS_NUMBER = re.compile(r"(?<![\w.])([1-5]\d\d)(?![\w.])")
_STATUS_BEFORE = re.compile(r"(?:http(?:/\d(?:\.\d)?)?\s+|status(?:[ _]code)?\s*[=:]?\s*|status_code=|\bcode\s+)$")
_STATUS_AFTER = re.compile(
    r"\s+(?:internal server error|bad gateway|service unavailable|gateway timeout|unauthorized|forbidden"
    r"|not found|bad request|upgrade required)\b"
)
_CLOSE_NUMBER = re.compile(r"(?<![\w.])([1-4]\d{3})(?![\w.])")
_CLOSE_BEFORE = re.compile(r"(?:received|sent|close[ _]code|code\s*=|closed with(?: code)?)\s*:?\s*\(?$")


def http_status(text: str) -> int | None:
    """The HTTP status named in ``text`` ("HTTP 500", "status_code=401", "403 Forbidden"), if any."""
    for match in _STATUS_NUMBER.finditer(text):
        before = text[max(0, match.start() - 20) : match.start()].lower()
        if _STATUS_BEFORE.search(before):
            return int(match.group(1))
        if match.group(1)[0] in "45" and _STATUS_AFTER.match(text[match.end() : match.end() + 30].lower()):
            return int(match.group(1))
    return None


def close_code(text: str) -> int | None:
    """The WebSocket close code named in ``text`` ("received 1011 (internal error)"), if any."""
    for match in _CLOSE_NUMBER.finditer(text):
        if _CLOSE_BEFORE.search(text[max(0, match.start() - 24) : match.start()].lower()):
            return int(match.group(1))
    return None


# ---------------------------------------------------------------- exception and decisive lines

_TYPED = re.compile(r"^((?:[A-Za-z_]\w*\.)*[A-Z]\w*)(?::\s*(.*))?$")
_LOCATION_TYPE = re.compile(r"^\S+?\.py:\d+: ((?:[A-Za-z_]\w*\.)*[A-Z]\w*)\s*$", re.MULTILINE)
_TRACEBACK_LAST = re.compile(
    r"^((?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception|Exit|Timeout|Status|Closed\w*))(?::\s*(.*))?$"
)


@dataclass(frozen=True)
class Decisive:
    """The lines of a failure report that decide what the failure is."""

    exception_type: str  # dotted as printed, e.g. websockets.exceptions.InvalidStatus
    message: str  # raw message of that exception (first line)
    text: str  # the decisive lines joined, for keyword rules


def decisive_lines(longrepr: str, lines: list[str] | None = None) -> Decisive:
    """The exception type and message of a pytest longrepr (or a plain Python traceback)."""
    if lines is None:
        lines = longrepr.splitlines()
    e_lines = [line[1:].strip() for line in lines if line.startswith(("E ", "E\t"))]
    exc_type, message = "", ""
    for line in e_lines:
        match = _TYPED.match(line)
        if match and not line.startswith("assert "):
            exc_type, message = match.group(1), (match.group(2) or "").strip()
            break  # the first typed E line of a block is the exception raised
    if not exc_type:
        location = _LOCATION_TYPE.findall(longrepr)
        if location:
            exc_type = location[-1]
            message = e_lines[0].strip() if e_lines else ""
    if not exc_type:
        exc_type, message = _last_traceback_line(longrepr)
    if not e_lines and not message:
        message = _first_nonblank(longrepr)
    text = "\n".join([*e_lines[:12], exc_type, message]) if e_lines else "\n".join([exc_type, message, longrepr[-600:]])
    return Decisive(exc_type, message, text)


def _last_traceback_line(text: str) -> tuple[str, str]:
    for line in reversed(text.strip().splitlines()[-8:]):
        match = _TRACEBACK_LAST.match(line.strip())
        if match:
            return match.group(1), (match.group(2) or "").strip()
    return "", ""


def _first_nonblank(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def short_type(exception_type: str) -> str:
    """``websockets.exceptions.InvalidStatus`` -> ``InvalidStatus``."""
    return exception_type.rsplit(".", 1)[-1]


# ---------------------------------------------------------------- frames

_PYTEST_FRAME = re.compile(r"([^\s:][^:]*?\.py):(\d+): in (\S+)")  # pytest --tb=short/auto
# pytest --tb=long/auto location line; the last one names the exception raised there
# ("pkg/module.py:126: IndexError"): that is the raising frame.
_LONG_FRAME = re.compile(r"([^\s:][^:]*?\.py):(\d+):(?:[ \t]+(?:[A-Za-z_]\w*\.)*[A-Z]\w*)?[ \t]*$")
_PYTHON_FRAME = re.compile(r'\s*File "([^"]+\.py)", line (\d+), in (\S+)')  # traceback / faulthandler dump
_FOREIGN = ("site-packages", "dist-packages", "/lib/python", "<frozen", "\\lib\\python", "/.venv/", "/venv/")
_FOREIGN_RE = re.compile("|".join(re.escape(part) for part in _FOREIGN))


def _raw_frames(text: str, lines: list[str] | None = None) -> list[tuple[str, int, str]]:
    """(file, line, function) of every frame in ``text``, in the order printed (outermost first)."""
    out = []
    for line in text.splitlines() if lines is None else lines:
        if 'File "' in line:
            match = _PYTHON_FRAME.match(line)
            if match:
                out.append((match.group(1), int(match.group(2)), match.group(3)))
        elif ".py:" in line:
            match = _PYTEST_FRAME.match(line)
            if match:
                out.append((match.group(1), int(match.group(2)), match.group(3)))
                continue
            match = _LONG_FRAME.match(line)
            if match:
                out.append((match.group(1), int(match.group(2)), ""))
    return out


def parse_frames(text: str) -> list[Frame]:
    """Every frame of pytest and Python tracebacks in ``text``, in the order printed (outermost first)."""
    return [Frame.model_construct(file=f, line=n, function=fn) for f, n, fn in _raw_frames(text)]


@lru_cache(maxsize=64)
def _root_prefix(repo: str) -> str:
    return str(Path(repo).resolve()) + "/"


def own_frames(frames: Iterable[Frame], *, repo: Path | None = None, limit: int = 5) -> list[Frame]:
    """Frames inside the target's own code, innermost first, paths relative to ``repo`` when possible."""
    return _own([(f.file, f.line, f.function) for f in frames], repo, limit)


def _own(frames: list[tuple[str, int, str]], repo: Path | None, limit: int) -> list[Frame]:
    return [Frame.model_construct(file=f, line=n, function=fn) for f, n, fn in _own_raw(frames, repo, limit)]


def _own_raw(frames: list[tuple[str, int, str]], repo: Path | None, limit: int) -> tuple[tuple[str, int, str], ...]:
    root = _root_prefix(str(repo)) if repo is not None else None
    out: list[tuple[str, int, str]] = []
    for file, line, function in reversed(frames):
        path = file.replace("\\", "/")
        if _FOREIGN_RE.search(path):
            continue
        if path.startswith("/"):
            if root is None or not path.startswith(root):
                continue
            path = path[len(root) :]
        out.append((path, line, function))
        if len(out) >= limit:
            break
    return tuple(out)


def is_test_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py" or "/tests/" in f"/{path}"


# ---------------------------------------------------------------- signature


@dataclass(frozen=True, slots=True)
class Parts:
    """A signature's fields as plain values (cheap to compute for thousands of failures)."""

    exception_type: str
    message: str
    http_status: int | None
    close_code: int | None
    frames: tuple[tuple[str, int, str], ...]  # (file, line, function), innermost first

    def signature(self) -> Signature:
        return Signature(
            exception_type=self.exception_type,
            message=self.message,
            http_status=self.http_status,
            close_code=self.close_code,
            frames=[Frame(file=f, line=n, function=fn) for f, n, fn in self.frames],
        )


def signature_parts(longrepr: str, *, repo: Path | None = None) -> tuple[Parts, Decisive]:
    """The signature fields of one failure report, and its decisive lines."""
    lines = longrepr.splitlines()
    decisive = decisive_lines(longrepr, lines)
    parts = Parts(
        exception_type=short_type(decisive.exception_type),
        message=normalize_message(decisive.message),
        http_status=http_status(decisive.text),
        close_code=close_code(decisive.text),
        frames=_own_raw(_raw_frames(longrepr, lines), repo, 5),
    )
    return parts, decisive


def signature_of_text(longrepr: str, *, repo: Path | None = None) -> tuple[Signature, Decisive]:
    """The signature of one failure report, and its decisive lines."""
    parts, decisive = signature_parts(longrepr, repo=repo)
    return parts.signature(), decisive


def extract_signature(result: TestResult, *, repo: Path | None = None) -> Signature:
    """The signature of a failed/errored/skipped test result."""
    text = result.longrepr or result.skip_reason
    return signature_of_text(text, repo=repo)[0]
