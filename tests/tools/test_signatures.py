"""Signatures: exception type, normalized message, status and close codes, own frames."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixloop.tools.signatures import (
    close_code,
    decisive_lines,
    extract_signature,
    http_status,
    normalize_message,
    own_frames,
    parse_frames,
    signature_of_text,
)
from tests.agents import failure_samples as s


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("request 42 failed at 2026-11-26T16:44:00.123Z", "request <num> failed at <ts>"),
        ("session 3f2a9c1e-1b2c-4d5e-8f90-0123456789ab closed", "session <id> closed"),
        ("object at 0x7f3a2b1c", "object at <hex>"),
        ("connect to 127.0.0.1:8765 refused", "connect to <ip> refused"),
        ("GET http://localhost:54321/ws", "GET http://localhost:<port>/ws"),
        ("user user-42 and run run_9f rejected", "user <id> and run <id> rejected"),
        ("commit deadbeef1234 broke it", "commit <hex> broke it"),
    ],
)
def test_normalize_message_masks_variable_parts(raw: str, expected: str) -> None:
    assert normalize_message(raw) == expected


def test_same_failure_with_different_numbers_normalizes_equal() -> None:
    a = normalize_message("timeout after 10.5 s waiting for run 3f2a9c1e-1b2c-4d5e-8f90-0123456789ab on :8765")
    b = normalize_message("timeout after 12.0 s waiting for run 00000000-1111-2222-3333-444444444444 on :9999")
    assert a == b


def test_http_status_and_close_code() -> None:
    assert http_status("server rejected WebSocket connection: HTTP 500") == 500
    assert http_status("Client error '403 Forbidden' for url") == 403
    assert http_status("status_code=401") == 401
    assert http_status("no status here, port 8765") is None
    assert close_code("received 1011 (internal error); then sent 1011 (internal error)") == 1011
    assert close_code("connection closed with code 1008") == 1008
    assert close_code("HTTP 500") is None


def test_decisive_lines_of_long_and_short_reports() -> None:
    assert decisive_lines(s.HANDSHAKE_500).exception_type == "websockets.exceptions.InvalidStatus"
    out_of_order = decisive_lines(s.OUT_OF_ORDER)
    assert out_of_order.exception_type == "AssertionError"
    assert out_of_order.message == "expected 'agent_thinking' got 'tool_executing'"
    timeout = decisive_lines(s.PYTEST_TIMEOUT_SETUP)
    assert (timeout.exception_type, timeout.message) == ("Failed", "Timeout >60.0s")


def test_bare_assert_takes_its_type_from_the_location_line() -> None:
    report = "    def test_x():\n>       assert 1 == 2\nE       assert 1 == 2\n\ntests/test_a.py:3: AssertionError\n"
    assert decisive_lines(report).exception_type == "AssertionError"


def test_plain_python_traceback() -> None:
    report = (
        "Traceback (most recent call last):\n"
        '  File "/srv/app/chat/ws.py", line 88, in handle\n'
        "    await dispatch(msg)\n"
        "ValueError: bad frame 17\n"
    )
    decisive = decisive_lines(report)
    assert (decisive.exception_type, decisive.message) == ("ValueError", "bad frame 17")


def test_frames_parse_pytest_long_short_and_python_forms() -> None:
    frames = parse_frames(s.HANDSHAKE_500 + s.CONCURRENT_500 + s.PYTEST_TIMEOUT_SETUP)
    files = [f.file for f in frames]
    assert files[0] == "tests/e2e/test_ws_events.py"
    assert "/tmp/ws/tests/conftest.py" in files
    assert any(f.function == "one_client" for f in frames)


def test_own_frames_drop_libraries_and_relativize(tmp_path: Path) -> None:
    report = s.PYTEST_TIMEOUT_SETUP.replace("/tmp/ws", str(tmp_path))
    frames = own_frames(parse_frames(report), repo=tmp_path)
    assert [(f.file, f.function) for f in frames] == [
        ("tests/conftest.py", "wait_until_ready"),
        ("tests/conftest.py", "live_backend"),
    ]


def test_signature_of_the_seed_failure() -> None:
    signature, _ = signature_of_text(s.CONCURRENT_500)
    assert signature.exception_type == "InvalidStatus"
    assert signature.http_status == 500
    assert signature.close_code is None
    assert signature.message == "server rejected WebSocket connection: HTTP <num>"
    assert [f.function for f in signature.frames] == ["one_client", "test_concurrent_websocket_real"]


def test_extract_signature_of_a_skip_uses_its_reason() -> None:
    result = s.result("t.py::t", "skipped", skip_reason="Docker unavailable on port 2375")
    assert extract_signature(result).message == "Docker unavailable on port <num>"


def test_pytest_last_location_line_is_the_raising_frame() -> None:
    longrepr = (
        "    def test_latest():\n>       assert book.latest('pay')\n\ntests/test_book.py:19: \n"
        "_ _ _ _ _ _ _ _\n\n    def latest(self, name):\n>       return rows[len(rows)]\n"
        "E       IndexError: list index out of range\n\npkg/book.py:126: IndexError"
    )
    frames = parse_frames(longrepr)
    assert [(f.file, f.line) for f in frames] == [("tests/test_book.py", 19), ("pkg/book.py", 126)]
    assert own_frames(frames)[0].file == "pkg/book.py"  # innermost first: where it was raised
