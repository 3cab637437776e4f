"""A small local HTTP server speaking the Logging v2 REST ``POST /v2/entries:list``.

It lets the real ``google-cloud-logging`` client run against loopback in tests and demos:
``Client(project=P, credentials=AnonymousCredentials(), _use_grpc=False,
client_options={"api_endpoint": server.url})``. It evaluates the subset of the Logging query
language fixloop sends (clauses joined by ``AND``: ``timestamp``, ``severity``, ``resource.type``,
``resource.labels.*``, ``trace``, ``logName``), pages with ``pageSize``/``pageToken``, records every
request body, and can be told to fail with an HTTP status.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

from fixloop.integrations.logs.entries import parse_timestamp, severity_rank
from fixloop.integrations.loopback import LoopbackHTTPServer

_CLAUSE = re.compile(r'^\s*([\w.]+)\s*(>=|<=|!=|=|>|<|:)\s*(?:"((?:[^"\\]|\\.)*)"|(\S+))\s*$')
_STATUS_NAMES = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}


class FilterError(ValueError):
    """A filter this server does not understand."""


def _field(entry: dict[str, Any], name: str) -> Any:
    value: Any = entry
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _compare(left: Any, op: str, right: Any) -> bool:
    if left is None:
        return op == "!="
    if op in ("=", ":"):
        return bool(left == right) if op == "=" else str(right) in str(left)
    if op == "!=":
        return bool(left != right)
    return {">=": left >= right, "<=": left <= right, ">": left > right, "<": left < right}[op]


def entry_matches(entry: dict[str, Any], filter_: str) -> bool:
    """True when the LogEntry JSON ``entry`` satisfies every ``AND`` clause of ``filter_``."""
    if not filter_.strip():
        return True
    for clause in re.split(r"\s+AND\s+", filter_.strip()):
        match = _CLAUSE.match(clause)
        if not match:
            raise FilterError(f"unsupported filter clause: {clause!r}")
        name, op, quoted, bare = match.groups()
        raw = quoted if quoted is not None else bare
        if name == "timestamp":
            ok = _compare(parse_timestamp(entry.get("timestamp")), op, parse_timestamp(raw))
        elif name == "severity":
            ok = _compare(severity_rank(str(entry.get("severity") or "DEFAULT")), op, severity_rank(raw))
        elif name in ("trace", "logName", "resource.type") or name.startswith(("resource.labels.", "labels.")):
            ok = _compare(_field(entry, name), op, raw)
        else:
            raise FilterError(f"unsupported filter field: {name}")
        if not ok:
            return False
    return True


class LocalLoggingServer:
    """Serve ``entries`` (LogEntry JSON dicts) on 127.0.0.1 at a free port."""

    def __init__(self, entries: list[dict[str, Any]] | None = None, *, project: str = "local") -> None:
        self.entries: list[dict[str, Any]] = list(entries or [])
        self.project = project
        self.requests: list[dict[str, Any]] = []
        self.fail_with: int | None = None  # answer every request with this HTTP status
        self._http = LoopbackHTTPServer(self._handler(), name="local-logging")

    @property
    def url(self) -> str:
        return self._http.url

    def start(self) -> LocalLoggingServer:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def list_entries(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The status and JSON answer of one ``entries:list`` request."""
        self.requests.append(body)
        if self.fail_with is not None:
            status = self.fail_with
            return status, _error(status, "injected failure")
        if not body.get("resourceNames"):
            return 400, _error(400, "resourceNames is required")
        try:
            found = [e for e in self.entries if entry_matches(e, str(body.get("filter", "")))]
        except FilterError as exc:
            return 400, _error(400, str(exc))
        found.sort(key=lambda e: str(e.get("timestamp", "")), reverse="desc" in str(body.get("orderBy", "")))
        start = int(body.get("pageToken") or 0)
        size = int(body.get("pageSize") or 1000)
        page = [self._with_log_name(e) for e in found[start : start + size]]
        answer: dict[str, Any] = {"entries": page}
        if start + size < len(found):
            answer["nextPageToken"] = str(start + size)
        return 200, answer

    def _with_log_name(self, entry: dict[str, Any]) -> dict[str, Any]:
        out = json.loads(json.dumps(entry))  # a copy: the client mutates sourceLocation
        out.setdefault("logName", f"projects/{self.project}/logs/run.googleapis.com%2Fstdout")
        return out

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path.split("?", 1)[0] != "/v2/entries:list":
                    self._send(404, _error(404, f"no route {self.path}"))
                    return
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    self._send(400, _error(400, "body is not JSON"))
                    return
                self._send(*server.list_entries(body))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet

        return Handler


def _error(status: int, message: str) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "status": _STATUS_NAMES.get(status, "INTERNAL")}}


@contextmanager
def serve_entries(entries: list[dict[str, Any]], *, project: str = "local") -> Iterator[LocalLoggingServer]:
    """Run a ``LocalLoggingServer`` for the duration of a ``with`` block."""
    server = LocalLoggingServer(entries, project=project).start()
    try:
        yield server
    finally:
        server.stop()
