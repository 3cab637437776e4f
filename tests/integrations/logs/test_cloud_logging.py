"""The cloud-logging source through the real google-cloud-logging client, against a local entries:list."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from fixloop.config import LogSettings, Settings
from fixloop.errors import ConfigError, LogSourceError
from fixloop.integrations.logs import build_log_source
from fixloop.integrations.logs.cloud_logging import CloudLoggingSource, build_filter
from fixloop.integrations.logs.local_server import LocalLoggingServer, serve_entries
from fixloop.integrations.logs.query import query_for_tests
from fixloop.interfaces import LogQuery
from tests.agents.failure_samples import seed_run
from tests.integrations.logs.samples import T0, backend_entries


@pytest.fixture
def server() -> Iterator[LocalLoggingServer]:
    with serve_entries(backend_entries(), project="demo-proj") as running:
        yield running


def settings_for(server: LocalLoggingServer, **logs: object) -> Settings:
    values = {"backend": "cloud-logging", "project": "demo-proj", "endpoint": server.url, **logs}
    return Settings(logs=LogSettings.model_validate(values))


def test_real_client_sends_the_built_filter_and_reads_entries(server: LocalLoggingServer, tmp_path: Path) -> None:
    settings = settings_for(server, min_severity="ERROR", margin_seconds=5)
    source = build_log_source(settings, tmp_path)
    assert isinstance(source, CloudLoggingSource)
    run = seed_run()
    query = query_for_tests(run, [r.nodeid for r in run.failures()], settings, trace="abc123")
    entries = source.fetch(query)

    body = server.requests[-1]
    assert body["resourceNames"] == ["projects/demo-proj"]
    sent = body["filter"]
    assert 'timestamp>="2026-11-26T16:43:57.000000Z"' in sent  # first failing test at +2 s, minus 5 s margin
    assert 'timestamp<="2026-11-26T16:44:08.400000Z"' in sent  # last one ends at +3.4 s, plus 5 s
    assert 'resource.labels.service_name="chatbackend"' in sent
    assert "severity>=ERROR" in sent
    assert 'trace="projects/demo-proj/traces/abc123"' in sent
    assert sent.count("timestamp") == 2  # the client added no default 24 h window of its own

    assert len(entries) == 1  # only the traced handshake error of chatbackend in the window
    entry = entries[0]
    assert entry.message == "websocket handshake failed: KeyError 'session_store'"
    assert (entry.source_file, entry.source_line, entry.source_function) == (
        "chatbackend/ws.py",
        88,
        "accept_connection",
    )
    assert entry.service_name == "chatbackend"
    assert entry.timestamp == T0 + timedelta(seconds=2.1)


def test_pages_are_followed(server: LocalLoggingServer) -> None:
    source = CloudLoggingSource.connect(project="demo-proj", endpoint=server.url)
    query = LogQuery(start=T0 - timedelta(hours=1), end=T0 + timedelta(hours=1), limit=3)
    entries = source.fetch(query)
    assert len(entries) == 3
    query = LogQuery(start=T0 - timedelta(hours=1), end=T0 + timedelta(hours=1), limit=5000)
    server.entries = server.entries * 400  # 2,800 entries: three pages of 1,000
    assert len(source.fetch(query)) == 2800
    assert [r.get("pageToken") for r in server.requests[-3:]] == [None, "1000", "2000"]


@pytest.mark.parametrize("status", [403, 500, 429])
def test_api_errors_become_log_source_errors(server: LocalLoggingServer, status: int) -> None:
    server.fail_with = status
    source = CloudLoggingSource.connect(project="demo-proj", endpoint=server.url)
    with pytest.raises(LogSourceError, match="entries:list failed"):
        source.fetch(LogQuery(start=T0, end=T0 + timedelta(seconds=1)))


def test_unreachable_endpoint_is_a_log_source_error() -> None:
    source = CloudLoggingSource.connect(project="p", endpoint="http://127.0.0.1:9")
    with pytest.raises(LogSourceError):
        source.fetch(LogQuery(start=T0, end=T0 + timedelta(seconds=1)))


def test_filter_escapes_quotes_and_skips_default_severity() -> None:
    query = LogQuery(start=T0, end=T0, service_name='we"ird', trace="projects/x/traces/t1")
    text = build_filter(query, project="p")
    assert 'resource.labels.service_name="we\\"ird"' in text
    assert "severity" not in text
    assert 'trace="projects/x/traces/t1"' in text


def test_cloud_backend_without_project_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"logs\.project"):
        build_log_source(Settings(logs=LogSettings(backend="cloud-logging")), tmp_path)


def test_file_backend_without_path_means_no_logs(tmp_path: Path) -> None:
    assert build_log_source(Settings(), tmp_path) is None
