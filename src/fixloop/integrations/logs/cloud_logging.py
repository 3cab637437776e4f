"""The ``cloud-logging`` log source over the real ``google-cloud-logging`` client.

The filter is built from the query (time window, Cloud Run service and revision, minimum
severity, trace); vendor errors become ``LogSourceError``. A custom REST endpoint (a private
endpoint, or the local ``entries:list`` server in tests) is reached with the HTTP transport.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from fixloop.errors import LogSourceError
from fixloop.integrations.logs.entries import parse_timestamp, severity_name
from fixloop.interfaces import LogEntry, LogQuery

_FILTER_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_filter(query: LogQuery, *, project: str) -> str:
    """The Logging query language filter of ``query``."""
    parts = [
        f"timestamp>={_quote(query.start.astimezone(UTC).strftime(_FILTER_TIME))}",
        f"timestamp<={_quote(query.end.astimezone(UTC).strftime(_FILTER_TIME))}",
    ]
    if query.service_name:
        parts.append('resource.type="cloud_run_revision"')
        parts.append(f"resource.labels.service_name={_quote(query.service_name)}")
    if query.revision_name:
        parts.append(f"resource.labels.revision_name={_quote(query.revision_name)}")
    if severity_name(query.min_severity) != "DEFAULT":
        parts.append(f"severity>={severity_name(query.min_severity)}")
    if query.trace:
        trace = query.trace if query.trace.startswith("projects/") else f"projects/{project}/traces/{query.trace}"
        parts.append(f"trace={_quote(trace)}")
    return " AND ".join(parts)


class CloudLoggingSource:
    """Reads entries with ``google.cloud.logging.Client.list_entries``."""

    name = "cloud-logging"

    def __init__(self, client: Any, *, project: str) -> None:
        self.client = client
        self.project = project
        self.last_filter = ""

    @classmethod
    def connect(
        cls, *, project: str, endpoint: str | None = None, credentials_env: str | None = None
    ) -> CloudLoggingSource:
        """A source over a real client; anonymous credentials for a loopback endpoint."""
        from google.api_core.exceptions import GoogleAPIError
        from google.auth.exceptions import GoogleAuthError
        from google.cloud import logging as cloud_logging

        kwargs: dict[str, Any] = {"project": project, "_use_grpc": False}
        if endpoint:
            kwargs["client_options"] = {"api_endpoint": endpoint}
        try:
            kwargs["credentials"] = _credentials(endpoint, credentials_env)
            client = cloud_logging.Client(**kwargs)
        except (GoogleAuthError, GoogleAPIError, OSError, ValueError) as exc:
            raise LogSourceError(f"cannot create a Cloud Logging client for project {project}: {exc}") from None
        return cls(client, project=project)

    def fetch(self, query: LogQuery) -> list[LogEntry]:
        """Entries in the window, oldest first; ``LogSourceError`` when the API call fails."""
        from google.api_core.exceptions import GoogleAPIError
        from google.auth.exceptions import GoogleAuthError
        from requests.exceptions import RequestException

        self.last_filter = build_filter(query, project=self.project)
        try:
            iterator = self.client.list_entries(
                resource_names=[f"projects/{self.project}"],
                filter_=self.last_filter,
                order_by="timestamp asc",
                max_results=query.limit,
                page_size=min(query.limit, 1000),
            )
            entries = [_convert(raw) for raw in iterator]
        except (GoogleAPIError, GoogleAuthError, RequestException) as exc:
            raise LogSourceError(f"Cloud Logging entries:list failed: {_one_line(exc)}") from None
        return sorted((e for e in entries if e is not None), key=lambda e: e.timestamp)


def _credentials(endpoint: str | None, credentials_env: str | None) -> Any:
    from google.auth.credentials import AnonymousCredentials

    if endpoint and endpoint.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        return AnonymousCredentials()
    if credentials_env:
        path = os.environ.get(credentials_env)
        if not path:
            raise LogSourceError(f"env var {credentials_env} (logs.credentials_env) is not set")
        from google.oauth2 import service_account

        return service_account.Credentials.from_service_account_file(path)
    return None  # application default credentials


def _convert(raw: Any) -> LogEntry | None:
    timestamp = raw.timestamp if isinstance(raw.timestamp, datetime) else parse_timestamp(raw.timestamp)
    if timestamp is None:
        return None
    payload = raw.payload
    if isinstance(payload, dict):
        body, message = dict(payload), str(payload.get("message") or payload.get("msg") or "")
    else:
        body, message = {}, "" if payload is None else str(payload)
    labels = dict(getattr(raw.resource, "labels", None) or {})
    source = raw.source_location or {}
    return LogEntry(
        timestamp=timestamp,
        severity=severity_name(raw.severity),
        message=message,
        payload=body,
        service_name=str(labels.get("service_name") or ""),
        revision_name=str(labels.get("revision_name") or ""),
        trace=str(raw.trace or ""),
        source_file=str(source.get("file") or ""),
        source_line=source.get("line"),
        source_function=str(source.get("function") or ""),
    )


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
