"""Structured JSON-lines logs in the shape of Google Cloud Logging ``LogEntry``."""

from __future__ import annotations

import json
import logging
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LOGGER_NAME = "chatbackend"
EXAMPLE_ROOT = Path(__file__).resolve().parent.parent
TRACE_PREFIX = "projects/local/traces/"

_trace_id: ContextVar[str | None] = ContextVar("trace_id", default=None)

logger = logging.getLogger(LOGGER_NAME)


def new_trace() -> str:
    """Start a new trace (one per HTTP request / WebSocket connection) and return its id."""
    trace = uuid.uuid4().hex
    _trace_id.set(trace)
    return trace


def current_trace() -> str | None:
    return _trace_id.get()


class LogEntryFormatter(logging.Formatter):
    """One ``LogEntry`` JSON object per record, carrying the service and the revision."""

    def __init__(self, service_name: str, revision: str) -> None:
        super().__init__()
        self.service_name = service_name
        self.revision = revision

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {"message": record.getMessage()}
        payload.update(getattr(record, "fields", {}))
        if record.exc_info:
            trace_text = self.formatException(record.exc_info)
            payload["message"] = f"{payload['message']}\n{trace_text}"
            payload["stack_trace"] = trace_text
            if record.exc_info[0] is not None:
                payload["error_type"] = record.exc_info[0].__name__
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="microseconds")
            .replace("+00:00", "Z"),
            "severity": record.levelname if record.levelname != "WARN" else "WARNING",
            "logName": f"projects/local/logs/{self.service_name}",
            "insertId": uuid.uuid4().hex[:16],
            "jsonPayload": payload,
            "resource": {
                "type": "cloud_run_revision",
                "labels": {"service_name": self.service_name, "revision_name": self.revision, "location": "local"},
            },
            "labels": {"revision": self.revision},
            "sourceLocation": {
                "file": _relative(record.pathname),
                "line": str(record.lineno),
                "function": record.funcName,
            },
        }
        trace = current_trace()
        if trace:
            entry["trace"] = TRACE_PREFIX + trace
        return json.dumps(entry, default=str)


def _relative(pathname: str) -> str:
    try:
        return Path(pathname).resolve().relative_to(EXAMPLE_ROOT).as_posix()
    except ValueError:
        return pathname


def setup_logging(service_name: str, revision: str, log_file: str | None) -> None:
    """Send LogEntry lines to ``log_file`` (appended, one line per record) or to stderr."""
    formatter = LogEntryFormatter(service_name, revision)
    handler: logging.Handler
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    websockets_logger = logging.getLogger("websockets")
    websockets_logger.handlers[:] = [handler]
    websockets_logger.setLevel(logging.WARNING)
    websockets_logger.propagate = False


def log(level: int, message: str, /, exc_info: bool = False, **fields: Any) -> None:
    """Log ``message`` with structured ``fields``; the caller's file/line/function become sourceLocation."""
    present = {key: value for key, value in fields.items() if value is not None}
    logger.log(level, message, exc_info=exc_info, extra={"fields": present}, stacklevel=2)
