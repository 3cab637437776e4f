"""Wait until a target's health endpoint is healthy and reports the expected revision, or give up."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from fixloop.records import utc_now

HEALTHY_STATUSES = {"ok", "healthy", "pass", "up", "serving"}
REVISION_KEYS = ("revision", "commit", "sha", "git_sha", "version")


@dataclass
class HealthWait:
    healthy_at: datetime | None
    last: str  # what the endpoint said last (or why it could not be reached)
    polls: int


def same_revision(reported: str, expected: str) -> bool:
    """Equal, or one is an abbreviation (7+ characters) of the other."""
    if not reported or not expected:
        return False
    if reported == expected:
        return True
    short, full = sorted((reported, expected), key=len)
    return len(short) >= 7 and full.startswith(short)


def check_health(url: str, revision: str | None, *, timeout: float) -> tuple[bool, str]:
    """One probe: (healthy with the right revision, what was seen)."""
    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return False, f"{url} unreachable: {type(exc).__name__}: {exc}"
    if response.status_code != 200:
        return False, f"{url} answered HTTP {response.status_code}"
    try:
        body: Any = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    status = str(body.get("status", "ok")).lower()
    if status not in HEALTHY_STATUSES:
        return False, f"{url} reports status {status!r}"
    if revision:
        reported = next((str(body[k]) for k in REVISION_KEYS if body.get(k)), "")
        if not same_revision(reported, revision):
            return False, f"{url} reports revision {reported or '(none)'!r}, expected {revision[:12]!r}"
    return True, f"{url} healthy at revision {revision[:12] if revision else '(any)'}"


def wait_healthy(url: str, revision: str | None, *, timeout: float, poll_interval: float) -> HealthWait:
    """Poll ``url`` until healthy at ``revision`` or ``timeout`` seconds have passed; never hangs."""
    deadline = time.monotonic() + max(timeout, 0.0)
    polls = 0
    last = "not polled"
    while True:
        remaining = deadline - time.monotonic()
        polls += 1
        ok, last = check_health(url, revision, timeout=max(0.2, min(2.0, remaining)))
        if ok:
            return HealthWait(utc_now(), last, polls)
        if time.monotonic() + poll_interval > deadline:
            return HealthWait(None, last, polls)
        time.sleep(max(poll_interval, 0.01))
