"""LogEntry JSON lines like the ones a Cloud Run chat backend writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 11, 26, 16, 44, 0, tzinfo=UTC)


def stamp(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")  # nanoseconds, like the API


def api_entry(seconds: float, severity: str, message: str, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "timestamp": stamp(seconds),
        "severity": severity,
        "jsonPayload": {"message": message},
        "resource": {
            "type": "cloud_run_revision",
            "labels": {"service_name": extra.pop("service", "chatbackend"), "revision_name": "chatbackend-00499-fgv"},
        },
    }
    entry.update(extra)
    return entry


def backend_entries() -> list[dict[str, Any]]:
    return [
        api_entry(-120, "INFO", "server started on port 8765"),
        api_entry(1, "INFO", "websocket connect user=user-17"),
        api_entry(
            2.1,
            "ERROR",
            "websocket handshake failed: KeyError 'session_store'",
            sourceLocation={"file": "chatbackend/ws.py", "line": "88", "function": "accept_connection"},
            trace="projects/demo-proj/traces/abc123",
        ),
        api_entry(3.2, "ERROR", "websocket handshake failed: KeyError 'session_store'"),
        api_entry(4, "WARNING", "slow request 1200 ms"),
        api_entry(2.5, "ERROR", "unrelated failure", service="billing"),
        api_entry(400, "ERROR", "much later"),
    ]
