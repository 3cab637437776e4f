"""Probe a target's HTTP health endpoint and the revision it reports."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from fixloop.errors import UsageError
from fixloop.records import ProbeCheck, ProbeReport

REVISION_KEYS = ("revision", "git_sha", "commit", "sha", "version")
HEALTHY_STATUS = frozenset({"ok", "healthy", "pass", "up", "green", "ready"})


def health_url(url: str, health_path: str = "/health") -> str:
    """``url`` itself when it names a path, else ``url`` + ``health_path``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"{url!r} is not an HTTP URL", hint="use http://HOST:PORT[/health]")
    return url if parts.path not in ("", "/") else url.rstrip("/") + health_path


def reported_revision(body: Any) -> str | None:
    if isinstance(body, dict):
        for key in REVISION_KEYS:
            if body.get(key):
                return str(body[key])
    return None


def probe_http(
    url: str, *, health_path: str = "/health", expect_revision: str | None = None, timeout: float = 10.0
) -> ProbeReport:
    import httpx  # imported here: most callers of this module never probe

    target = health_url(url, health_path)
    checks: list[ProbeCheck] = []
    started = time.perf_counter()
    try:
        response = httpx.get(target, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as exc:
        checks.append(ProbeCheck(name="health", ok=False, detail=f"{type(exc).__name__}: {exc}"))
        return ProbeReport(url=target, kind="http", ok=False, checks=checks)
    latency = 1000 * (time.perf_counter() - started)
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    status_word = str(body.get("status", "ok")).lower() if isinstance(body, dict) else "ok"
    healthy = response.status_code == 200 and status_word in HEALTHY_STATUS
    checks.append(
        ProbeCheck(
            name="health",
            ok=healthy,
            http_status=response.status_code,
            latency_ms=latency,
            detail=f"HTTP {response.status_code}, status {status_word!r}"
            + ("" if healthy else f": {response.text[:200]}"),
        )
    )
    revision = reported_revision(body)
    if expect_revision is not None:
        matches = revision is not None and (
            revision.startswith(expect_revision) or expect_revision.startswith(revision)
        )
        checks.append(
            ProbeCheck(
                name="revision", ok=matches, detail=f"reported {revision or 'nothing'}, expected {expect_revision}"
            )
        )
    else:
        checks.append(
            ProbeCheck(
                name="revision",
                ok=revision is not None,
                skipped=revision is None,
                detail=f"reported {revision or 'nothing'}",
            )
        )
    return ProbeReport(
        url=target, kind="http", ok=all(c.ok for c in checks if not c.skipped), checks=checks, revision=revision
    )
