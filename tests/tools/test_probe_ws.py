from __future__ import annotations

import pytest

from fixloop.errors import UsageError
from fixloop.records import ProbeCheck, ProbeReport
from fixloop.tools.probe_ws import EXPECTED_EVENTS, make_token, probe_ws, token_from_env_value
from tests.tools.chat_server import SECRET, running_chat_server


def checks(report: ProbeReport) -> dict[str, ProbeCheck]:
    return {c.name: c for c in report.checks}


def test_healthy_server_passes_every_check() -> None:
    with running_chat_server("healthy") as server:
        report = probe_ws(server.ws_url, secret=SECRET, clients=4, timeout=5)
    assert report.ok
    assert report.events == list(EXPECTED_EVENTS)
    by_name = checks(report)
    assert set(by_name) == {"handshake", "auth-rejected", "events", "close-code", "concurrency", "latency"}
    assert by_name["auth-rejected"].http_status == 401
    assert by_name["close-code"].close_code == 1000
    assert by_name["concurrency"].detail.startswith("4/4")
    assert by_name["latency"].latency_ms is not None and by_name["latency"].latency_ms >= 0


def test_handshake_500_is_reported_with_its_status() -> None:
    with running_chat_server("handshake-500") as server:
        report = probe_ws(server.ws_url, secret=SECRET, timeout=5)
    assert not report.ok
    handshake = checks(report)["handshake"]
    assert not handshake.ok and handshake.http_status == 500
    assert "HTTP 500" in handshake.detail
    assert "events" not in checks(report)


def test_close_1011_midway_fails_events_and_close_code() -> None:
    with running_chat_server("close-1011") as server:
        report = probe_ws(server.ws_url, secret=SECRET, clients=2, timeout=5)
    by_name = checks(report)
    assert not report.ok
    assert report.events == ["agent_started", "agent_thinking"]
    assert not by_name["events"].ok and "1011" in by_name["events"].detail
    assert by_name["close-code"].close_code == 1011
    assert not by_name["concurrency"].ok and by_name["concurrency"].detail.startswith("0/2")


def test_missing_event_is_a_protocol_failure() -> None:
    with running_chat_server("out-of-order") as server:
        report = probe_ws(server.ws_url, secret=SECRET, clients=1, timeout=5)
    events = checks(report)["events"]
    assert not events.ok and "agent_thinking" not in report.events
    assert checks(report)["close-code"].ok


def test_missing_token_is_rejected_by_an_authenticating_server() -> None:
    with running_chat_server("healthy") as server:
        report = probe_ws(server.ws_url, clients=1, timeout=5)
    assert not report.ok and checks(report)["handshake"].http_status == 401


def test_unreachable_server_fails_cleanly() -> None:
    with running_chat_server("healthy") as server:
        url = server.ws_url
    report = probe_ws(url, secret=SECRET, timeout=2)
    assert not report.ok and not checks(report)["handshake"].ok
    assert "Connection" in checks(report)["handshake"].detail or "Errno" in checks(report)["handshake"].detail


def test_ready_token_is_used_as_is_and_bad_urls_are_usage_errors() -> None:
    token = make_token(SECRET)
    assert token_from_env_value(token) == token
    assert token_from_env_value(SECRET).count(".") == 2
    with pytest.raises(UsageError, match="not a WebSocket URL"):
        probe_ws("http://127.0.0.1:1/ws")
    with pytest.raises(UsageError, match="at least 1"):
        probe_ws("ws://127.0.0.1:1/ws", clients=0)
