"""Preflight: before a run does any work, each outside service it will need answers.

The model endpoint (``GET /models``, no retry), the code host (a read of its pull requests), the log
source (a one-entry read, for a remote backend) and an external target (its health URL). The checks run
in parallel, each bounded by ``DEADLINE`` whatever its client's own retries, so a dead service costs
seconds, not the minutes of back-off a run would spend on it. Each failure is one line naming the
service and its URL (never a secret); ``PreflightError`` carries them all.

A target fixloop starts itself (one recorded for the repo, running or not) is not checked here: a target
that is down or cannot start is what the run diagnoses.
"""

from __future__ import annotations

import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fixloop.errors import FixloopError
from fixloop.interfaces import CodeHost, LogQuery, LogSource

DEADLINE = 10.0  # seconds for all checks together (after ``prepare``)
HEALTH_TIMEOUT = 4.0


class PreflightError(FixloopError):
    """A service the run needs does not answer: the run did not start."""


@dataclass
class Check:
    name: str  # what is checked, e.g. "model endpoint"
    run: Callable[[], None]  # raises with the reason when the service is down
    prepare: Callable[[], None] | None = None  # local set-up (imports, client), before the clock starts


def run_checks(checks: list[Check], *, deadline: float = DEADLINE) -> list[str]:
    """One line per failed check ("<name>: <reason>"), in the order given; [] when all answered."""
    problems: dict[str, str] = {}
    threads = []

    def one(check: Check) -> None:
        try:
            check.run()
        except FixloopError as exc:
            problems[check.name] = exc.one_line()
        except Exception as exc:  # a vendor error a client did not translate: still one line
            problems[check.name] = f"{type(exc).__name__}: {exc}"

    for check in checks:
        if check.prepare is not None:
            check.prepare()
    for check in checks:
        thread = threading.Thread(target=one, args=(check,), name=f"preflight-{check.name}", daemon=True)
        thread.start()
        threads.append((check, thread))
    ends_at = datetime.now(UTC) + timedelta(seconds=deadline)
    for check, thread in threads:
        thread.join(max(0.0, (ends_at - datetime.now(UTC)).total_seconds()))
        if thread.is_alive() and check.name not in problems:
            problems[check.name] = f"no answer within {deadline:g} s"
    return [f"{check.name}: {problems[check.name]}" for check, _ in threads if check.name in problems]


def model_check(model: object) -> Check | None:
    """The model endpoint, when the model can be pinged (the openai client, the scripted double)."""
    ping, prepare = getattr(model, "ping", None), getattr(model, "prepare", None)
    return Check("model endpoint", ping, prepare if callable(prepare) else None) if callable(ping) else None


def codehost_check(codehost: CodeHost, where: str) -> Check:
    def read() -> None:
        try:
            codehost.find_pr("fixloop/preflight")  # a read: lists pull requests of one branch
        except Exception as exc:  # a client's own error included (requests' ConnectionError)
            raise FixloopError(f"{where} does not answer: {short_reason(exc)}") from None

    return Check("code host", read)


def logs_check(logs: LogSource, where: str) -> Check:
    def read() -> None:
        now = datetime.now(UTC)
        try:
            logs.fetch(LogQuery(start=now - timedelta(minutes=1), end=now, limit=1))
        except Exception as exc:
            raise FixloopError(f"{where} does not answer: {short_reason(exc)}") from None

    return Check("log source", read)


_ERRNO = re.compile(r"\[Errno -?\d+\] [^\"')\]]+")


def short_reason(exc: Exception) -> str:
    """The operating system's reason when a client buried it in a long message ("[Errno 111] Connection
    refused"), else the error's own line, cut at 200 characters."""
    text = exc.one_line() if isinstance(exc, FixloopError) else f"{type(exc).__name__}: {exc}"
    found = _ERRNO.search(text)
    return found.group(0).strip() if found else text.splitlines()[0][:200] if text else type(exc).__name__


def target_check(health_url: str) -> Check:
    def get() -> None:
        try:
            with urllib.request.urlopen(health_url, timeout=HEALTH_TIMEOUT) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise FixloopError(f"{health_url} does not answer: {reason}") from None
        if status >= 500:
            raise FixloopError(f"{health_url} answers HTTP {status}")

    return Check("target", get)


def external_target(repo: Path, http_url: str, health_path: str, *, configured: bool) -> str | None:
    """The health URL to check, when the run tests an external target: one configured for the repo
    (``[target] http_url`` set) and no target of fixloop's own recorded for it; else None."""
    if not configured or not http_url.startswith(("http://", "https://")):
        return None
    from fixloop.target import target_status

    try:
        recorded = target_status(repo)
    except FixloopError:
        recorded = None
    return None if recorded is not None else http_url.rstrip("/") + health_path
