from __future__ import annotations

import pytest

from fixloop.errors import UsageError
from fixloop.tools.probe_http import health_url, probe_http
from tests.tools.chat_server import running_chat_server


def test_health_and_revision_of_a_healthy_target() -> None:
    with running_chat_server("healthy") as server:
        report = probe_http(server.http_url)
        pinned = probe_http(server.http_url + "/health", expect_revision="abc")
        wrong = probe_http(server.http_url, expect_revision="def999")
    assert report.ok and report.revision == "abc1234" and report.url.endswith("/health")
    assert report.checks[0].http_status == 200
    assert pinned.ok
    assert not wrong.ok and "expected def999" in wrong.checks[1].detail


def test_unhealthy_and_unreachable_targets_fail() -> None:
    with running_chat_server("unhealthy") as server:
        report = probe_http(server.http_url)
        url = server.http_url
    assert not report.ok and report.checks[0].http_status == 503
    gone = probe_http(url, timeout=2)
    assert not gone.ok and gone.checks[0].http_status is None


def test_health_url_rules() -> None:
    assert health_url("http://h:1") == "http://h:1/health"
    assert health_url("http://h:1/", "/healthz") == "http://h:1/healthz"
    assert health_url("http://h:1/status") == "http://h:1/status"
    with pytest.raises(UsageError):
        health_url("ws://h:1/ws")
