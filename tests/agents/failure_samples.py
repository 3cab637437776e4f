"""Realistic pytest longreprs and a TestRun builder shared by the triage and evidence tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fixloop.records import Outcome, Phase, TestResult, TestRun

T0 = datetime(2026, 11, 26, 16, 44, 0, tzinfo=UTC)

HANDSHAKE_500 = """\
    @pytest.mark.asyncio
    async def test_websocket_event_flow_real(ws_url, auth_headers):
>       async with connect(ws_url, additional_headers=auth_headers, open_timeout=5) as ws:

tests/e2e/test_ws_events.py:41:
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _
/work/venv/lib/python3.11/site-packages/websockets/asyncio/client.py:587: in __aenter__
    return await self
/work/venv/lib/python3.11/site-packages/websockets/asyncio/client.py:543: in __await_impl__
    self.connection.handshake_exc
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _
/work/venv/lib/python3.11/site-packages/websockets/client.py:330: in process_response
    raise InvalidStatus(response)
E   websockets.exceptions.InvalidStatus: server rejected WebSocket connection: HTTP 500
"""

CONCURRENT_500 = """\
tests/e2e/test_ws_events.py:77: in test_concurrent_websocket_real
    results = await asyncio.gather(*(one_client(i) for i in range(3)))
tests/e2e/test_ws_events.py:66: in one_client
    async with connect(ws_url, additional_headers=auth_headers) as ws:
/work/venv/lib/python3.11/site-packages/websockets/asyncio/client.py:587: in __aenter__
    return await self
E   websockets.exceptions.InvalidStatus: server rejected WebSocket connection: HTTP 500
"""

CLOSE_1011 = """\
tests/e2e/test_ws_events.py:52: in test_agent_reply
    msg = await ws.recv()
/work/venv/lib/python3.11/site-packages/websockets/asyncio/connection.py:322: in recv
    raise self.protocol.close_exc from self.recv_exc
E   websockets.exceptions.ConnectionClosedError: received 1011 (internal error) handler crashed; \
then sent 1011 (internal error) handler crashed
"""

AUTH_403 = """\
tests/e2e/test_ws_auth.py:19: in test_websocket_auth_validation
    async with connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
E   websockets.exceptions.InvalidStatus: server rejected WebSocket connection: HTTP 403
"""

CLOSE_1008 = """\
tests/e2e/test_ws_auth.py:33: in test_expired_token_rejected_cleanly
    await ws.recv()
E   websockets.exceptions.ConnectionClosedError: received 1008 (policy violation) invalid token; \
then sent 1008 (policy violation) invalid token
"""

OUT_OF_ORDER = """\
    async def test_five_events_in_order(ws):
        await ws.send(json.dumps({"type": "user_message", "text": "hi"}))
        events = [json.loads(await ws.recv())["type"] for _ in range(5)]
>       assert events[1] == "agent_thinking", f"expected 'agent_thinking' got {events[1]!r}"
E       AssertionError: expected 'agent_thinking' got 'tool_executing'
E       assert 'tool_executing' == 'agent_thinking'
E
E         - agent_thinking
E         + tool_executing

tests/e2e/test_ws_events.py:95: AssertionError
"""

HANG_TIMEOUT = """\
    async def test_agent_completes(ws):
        await ws.send(json.dumps({"type": "user_message", "text": "hi"}))
>       done = await asyncio.wait_for(wait_for_event(ws, "agent_completed"), timeout=10)

tests/e2e/test_ws_events.py:120:
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _
/usr/lib/python3.11/asyncio/tasks.py:502: in wait_for
    raise exceptions.TimeoutError() from exc
E   TimeoutError
"""

PYTEST_TIMEOUT_SETUP = """\
+++++++++++++++++++++++++++++++++++ Timeout ++++++++++++++++++++++++++++++++++++
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~ Stack of MainThread (140213) ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
  File "/work/venv/lib/python3.11/site-packages/_pytest/fixtures.py", line 898, in call_fixture_func
    fixture_result = next(generator)
  File "/tmp/ws/tests/conftest.py", line 31, in live_backend
    wait_until_ready(url)
  File "/tmp/ws/tests/conftest.py", line 12, in wait_until_ready
    time.sleep(0.5)
+++++++++++++++++++++++++++++++++++ Timeout ++++++++++++++++++++++++++++++++++++
E   Failed: Timeout >60.0s
"""

REFUSED = """\
tests/e2e/test_health.py:9: in test_health_check
    response = httpx.get(f"{base_url}/health", timeout=5)
/work/venv/lib/python3.11/site-packages/httpx/_transports/default.py:118: in map_httpcore_exceptions
    raise mapped_exc(message) from exc
E   httpx.ConnectError: [Errno 111] Connection refused
"""

MISSING_ENV = """\
tests/conftest.py:14: in ws_url
    return os.environ["STAGING_WEBSOCKET_URL"]
/usr/lib/python3.11/os.py:679: in __getitem__
    raise KeyError(key) from None
E   KeyError: 'STAGING_WEBSOCKET_URL'
"""

WRONG_PATH_404 = """\
tests/e2e/test_ws_events.py:30: in test_websocket_connection
    async with connect(f"{base_ws}/websocket") as ws:
E   websockets.exceptions.InvalidStatus: server rejected WebSocket connection: HTTP 404
"""

SCHEMA_KEYERROR = """\
tests/e2e/test_ws_events.py:101: in test_event_payload_schema
    assert event["payload"]["run_id"]
E   KeyError: 'payload'
"""

TEST_BUG = """\
tests/e2e/test_ws_events.py:140: in test_reconnect
    client = WebSocketClinet(ws_url)
E   NameError: name 'WebSocketClinet' is not defined
"""


def result(
    nodeid: str,
    outcome: Outcome = "failed",
    longrepr: str = "",
    *,
    phase: Phase = "call",
    offset: float = 0.0,
    duration: float = 0.4,
    skip_reason: str = "",
    stdout: str = "",
) -> TestResult:
    start = T0 + timedelta(seconds=offset)
    return TestResult(
        nodeid=nodeid,
        outcome=outcome,
        phase=phase,
        duration=duration,
        longrepr=longrepr,
        skip_reason=skip_reason,
        stdout=stdout,
        started_at=start,
        finished_at=start + timedelta(seconds=duration),
        file=nodeid.split("::", 1)[0],
    )


def make_run(results: list[TestResult], *, cwd: str = "/tmp/ws") -> TestRun:
    return TestRun(
        command=["python", "-m", "pytest"],
        interpreter="python",
        cwd=cwd,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=30),
        exit_code=1 if any(r.outcome in ("failed", "error") for r in results) else 0,
        results=results,
        revision="abc1234",
    )


def seed_run() -> TestRun:
    """The seed worklog's phase 1: 3 passed, 2 failed with HTTP 500 on the handshake."""
    f = "tests/e2e/test_ws_events.py"
    return make_run(
        [
            result(f"{f}::test_health_check", "passed", offset=0.1),
            result(f"{f}::test_websocket_connection", "passed", offset=0.6),
            result(f"{f}::test_websocket_auth_validation", "passed", offset=1.2),
            result(f"{f}::test_websocket_event_flow_real", longrepr=HANDSHAKE_500, offset=2.0),
            result(f"{f}::test_concurrent_websocket_real", longrepr=CONCURRENT_500, offset=3.0),
        ]
    )
