"""Failure signatures: exception type, normalized message, HTTP status, close code, own frames.

A signature is what two failures with the same cause have in common. It is built from the
*decisive* lines of a pytest longrepr (the ``E   `` lines and the final ``path:line: Type`` line),
not from the whole output, so that it stays cheap for thousands of failures.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fixloop.records import Frame, Signature, TestResult

# ---------------------------------------------------------------- message normalization

_MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"), "<ts>"),
    (re.compile(r"\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b"), "<ts>"),
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"), "<id>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"), "<hex>"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), "<ip>"),
    (re.compile(r"(?<=localhost):\d+\b"), ":<port>"),
    (re.compile(r"(?<=[\w\]]):\d{2,5}\b(?=[/\s'\")]|$)"), ":<port>"),
    (re.compile(r"\b[A-Za-z]+[-_][A-Za-z0-9]*\d[A-Za-z0-9]*\b"), "<id>"),
    (re.compile(r"\b\d+(?:\.\d+)?\b"), "<num>"),
)
_SPACES = re.compile(r"\s+")
MAX_MESSAGE = 200


def normalize_message(message: str) -> str:
    """``message`` with timestamps, uuids, hex, ips, ports, ids and numbers masked, one line."""
    text = _SPACES.sub(" ", message).strip()
    for pattern, mask in _MASKS:
        text = pattern.sub(mask, text)
    return text[:MAX_MESSAGE]


# ---------------------------------------------------------------- status codes

_HTTP_STATUS = re.compile(
    r"(?:HTTP(?:/\d(?:\.\d)?)?\s+|status(?:[ _]code)?\s*[=:]?\s*|\bstatus_code=|\bcode\s+)([1-5]\d{2})\b",
    re.IGNORECASE,
)
_HTTP_REASON = re.compile(
    r"\b([45]\d{2})\s+(?:Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout|"
    r"Unauthorized|Forbidden|Not Found|Bad Request|Upgrade Required)\b",
    re.IGNORECASE,
)
_CLOSE_CODE = re.compile(
    r"(?:received|sent|close[ _]code|code\s*=|closed with(?: code)?)\s*:?\s*\(?([1-4]\d{3})\b", re.IGNORECASE
)


def http_status(text: str) -> int | None:
    match = _HTTP_STATUS.search(text) or _HTTP_REASON.search(text)
    return int(match.group(1)) if match else None


def close_code(text: str) -> int | None:
    match = _CLOSE_CODE.search(text)
    return int(match.group(1)) if match else None


# ---------------------------------------------------------------- exception and decisive lines

_E_LINE = re.compile(r"^E\s+(.*)$", re.MULTILINE)
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


def decisive_lines(longrepr: str) -> Decisive:
    """The exception type and message of a pytest longrepr (or a plain Python traceback)."""
    e_lines = _E_LINE.findall(longrepr)
    exc_type, message = "", ""
    for line in e_lines:
        match = _TYPED.match(line.strip())
        if match and not line.strip().startswith("assert "):
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

_PYTEST_FRAME = re.compile(r"^([^\s:][^:\n]*?\.py):(\d+): in (\S+)", re.MULTILINE)
_PYTHON_FRAME = re.compile(r'File "([^"]+\.py)", line (\d+), in (\S+)')
_LONG_FRAME = re.compile(r"^([^\s:][^:\n]*?\.py):(\d+):[ \t]*$", re.MULTILINE)  # --tb=long location line
_FOREIGN = ("site-packages", "dist-packages", "/lib/python", "<frozen", "\\lib\\python", "/.venv/", "/venv/")


def parse_frames(text: str) -> list[Frame]:
    """Every frame of pytest and Python tracebacks in ``text``, in the order printed (outermost first)."""
    found: list[tuple[int, Frame]] = []
    for match in _PYTEST_FRAME.finditer(text):
        found.append((match.start(), Frame(file=match.group(1), line=int(match.group(2)), function=match.group(3))))
    for match in _LONG_FRAME.finditer(text):
        found.append((match.start(), Frame(file=match.group(1), line=int(match.group(2)))))
    for match in _PYTHON_FRAME.finditer(text):
        found.append((match.start(), Frame(file=match.group(1), line=int(match.group(2)), function=match.group(3))))
    found.sort(key=lambda pair: pair[0])
    return [frame for _, frame in found]


def own_frames(frames: Iterable[Frame], *, repo: Path | None = None, limit: int = 5) -> list[Frame]:
    """Frames inside the target's own code, innermost first, paths relative to ``repo`` when possible."""
    root = str(repo.resolve()) + "/" if repo is not None else None
    out: list[Frame] = []
    for frame in reversed(list(frames)):
        path = frame.file.replace("\\", "/")
        if any(part in path for part in _FOREIGN):
            continue
        if path.startswith("/"):
            if root is None or not path.startswith(root):
                continue
            path = path[len(root) :]
        out.append(Frame(file=path, line=frame.line, function=frame.function))
        if len(out) >= limit:
            break
    return out


def is_test_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py" or "/tests/" in f"/{path}"


# ---------------------------------------------------------------- signature


def signature_of_text(longrepr: str, *, repo: Path | None = None) -> tuple[Signature, Decisive]:
    """The signature of one failure report, and its decisive lines."""
    decisive = decisive_lines(longrepr)
    frames = own_frames(parse_frames(longrepr), repo=repo)
    status = http_status(decisive.text)
    code = close_code(decisive.text)
    return (
        Signature(
            exception_type=short_type(decisive.exception_type),
            message=normalize_message(decisive.message),
            http_status=status,
            close_code=code,
            frames=frames,
        ),
        decisive,
    )


def extract_signature(result: TestResult, *, repo: Path | None = None) -> Signature:
    """The signature of a failed/errored/skipped test result."""
    text = result.longrepr or result.skip_reason
    return signature_of_text(text, repo=repo)[0]
