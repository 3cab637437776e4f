"""Cloud Logging ``LogEntry`` JSON <-> ``interfaces.LogEntry``, severities and time parsing.

Two JSON shapes are read: the API's ``LogEntry`` (``textPayload``/``jsonPayload``,
``resource.labels``, ``sourceLocation``, ``trace``) and the structured line a Cloud Run service
prints to stdout (``severity``, ``message``, ``time``, ``logging.googleapis.com/sourceLocation``,
``logging.googleapis.com/trace``), which Cloud Logging turns into the former.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fixloop.interfaces import LogEntry

SEVERITIES: dict[str, int] = {
    "DEFAULT": 0,
    "DEBUG": 100,
    "INFO": 200,
    "NOTICE": 300,
    "WARNING": 400,
    "ERROR": 500,
    "CRITICAL": 600,
    "ALERT": 700,
    "EMERGENCY": 800,
}
_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL", "ERR": "ERROR", "EXCEPTION": "ERROR"}
_SOURCE_KEY = "logging.googleapis.com/sourceLocation"
_TRACE_KEY = "logging.googleapis.com/trace"


def severity_name(raw: object) -> str:
    """A Cloud Logging severity name for ``raw`` (a name, an alias, or a number)."""
    if isinstance(raw, int):
        return max((n for n, v in SEVERITIES.items() if v <= raw), key=SEVERITIES.__getitem__, default="DEFAULT")
    name = str(raw or "DEFAULT").upper()
    name = _ALIASES.get(name, name)
    return name if name in SEVERITIES else "DEFAULT"


def severity_rank(name: str) -> int:
    return SEVERITIES[severity_name(name)]


def parse_timestamp(raw: object) -> datetime | None:
    """RFC 3339 text (nanoseconds allowed), epoch seconds, or a datetime -> aware UTC datetime."""
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    if isinstance(raw, int | float):
        return datetime.fromtimestamp(raw, UTC)
    if isinstance(raw, dict) and "seconds" in raw:
        return datetime.fromtimestamp(int(raw["seconds"]) + int(raw.get("nanos", 0)) / 1e9, UTC)
    if not isinstance(raw, str) or not raw:
        return None
    text = raw.strip().replace("Z", "+00:00")
    if "." in text:  # trim nanoseconds to microseconds for fromisoformat
        head, _, rest = text.partition(".")
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def entry_from_json(data: dict[str, Any]) -> LogEntry | None:
    """An entry from either JSON shape, or None when it has no usable timestamp."""
    timestamp = parse_timestamp(data.get("timestamp") or data.get("time") or data.get("receiveTimestamp"))
    if timestamp is None:
        return None
    payload: dict[str, Any]
    if isinstance(data.get("jsonPayload"), dict):
        payload = dict(data["jsonPayload"])
        message = str(payload.get("message") or payload.get("msg") or "")
    elif "textPayload" in data:
        payload, message = {}, str(data["textPayload"])
    else:  # a structured stdout line: everything but the special keys is payload
        skip = {"timestamp", "time", "severity", "message", "msg", _SOURCE_KEY, _TRACE_KEY, "resource", "trace"}
        payload = {k: v for k, v in data.items() if k not in skip}
        message = str(data.get("message") or data.get("msg") or "")
    labels = (data.get("resource") or {}).get("labels") or {}
    source = data.get("sourceLocation") or data.get(_SOURCE_KEY) or payload.pop(_SOURCE_KEY, None) or {}
    line = source.get("line")
    return LogEntry(
        timestamp=timestamp,
        severity=severity_name(data.get("severity") or data.get("level")),
        message=message,
        payload=payload,
        service_name=str(labels.get("service_name") or data.get("service_name") or data.get("service") or ""),
        revision_name=str(labels.get("revision_name") or data.get("revision_name") or data.get("revision") or ""),
        trace=str(data.get("trace") or data.get(_TRACE_KEY) or payload.pop(_TRACE_KEY, "") or ""),
        source_file=str(source.get("file") or ""),
        source_line=int(line) if line not in (None, "") else None,
        source_function=str(source.get("function") or ""),
    )


def entry_to_json(
    entry: LogEntry, *, project: str = "local", log_id: str = "run.googleapis.com%2Fstdout"
) -> dict[str, Any]:
    """The API ``LogEntry`` JSON of ``entry`` (what ``entries:list`` answers)."""
    out: dict[str, Any] = {
        "logName": f"projects/{project}/logs/{log_id}",
        "timestamp": entry.timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "severity": entry.severity,
        "resource": {
            "type": "cloud_run_revision",
            "labels": {"service_name": entry.service_name, "revision_name": entry.revision_name},
        },
    }
    if entry.payload:
        out["jsonPayload"] = {**entry.payload, "message": entry.message}
    else:
        out["textPayload"] = entry.message
    if entry.trace:
        out["trace"] = entry.trace
    if entry.source_file:
        out["sourceLocation"] = {
            "file": entry.source_file,
            "line": str(entry.source_line or 0),
            "function": entry.source_function,
        }
    return out


def matches(
    entry: LogEntry,
    *,
    start: datetime,
    end: datetime,
    min_severity: str,
    service: str | None,
    revision: str | None,
    trace: str | None,
) -> bool:
    """True when ``entry`` falls in a query's window and filters."""
    if not (start <= entry.timestamp <= end):
        return False
    if severity_rank(entry.severity) < severity_rank(min_severity):
        return False
    if service and entry.service_name and entry.service_name != service:
        return False
    if revision and entry.revision_name and entry.revision_name != revision:
        return False
    return not (trace and entry.trace and not entry.trace.endswith(trace.rsplit("/", 1)[-1]))
