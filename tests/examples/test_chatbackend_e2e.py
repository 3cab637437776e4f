"""The bundled example runs for real and its own e2e suite passes against it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from fixloop.scenarios import prepare_workspace
from fixloop.target import TargetInfo, start_target, stop_target, test_env
from tests.examples.suite import run_suite


@pytest.fixture
def running_example(tmp_path: Path) -> Iterator[tuple[Path, TargetInfo]]:
    repo = prepare_workspace(tmp_path / "chatbackend", None)
    info = start_target(repo)
    try:
        yield repo, info
    finally:
        stop_target(repo)


def test_unbroken_example_passes_its_e2e_suite(running_example: tuple[Path, TargetInfo]) -> None:
    repo, _ = running_example
    result = run_suite(repo, test_env(repo))
    assert result.returncode == 0, result.output
    assert len(result.passed) >= 20
    assert not result.failed
    assert {case.nodeid.split("::")[0] for case in result.cases} >= {
        "tests/e2e/staging/test_1_websocket_events_staging.py",
        "tests/e2e/integration/test_staging_complete_e2e.py",
        "tests/e2e/staging/test_7_billing_api_staging.py",
    }


def test_logs_are_cloud_logging_entries_with_revision(running_example: tuple[Path, TargetInfo]) -> None:
    repo, info = running_example
    result = run_suite(
        repo, test_env(repo), "tests/e2e/staging/test_1_websocket_events_staging.py::test_websocket_event_flow_real"
    )
    assert result.returncode == 0, result.output
    entries = [json.loads(line) for line in Path(info.log_file).read_text().splitlines()]
    assert all(entry["resource"]["labels"]["revision_name"] == info.revision for entry in entries)
    assert all(entry["resource"]["type"] == "cloud_run_revision" for entry in entries)
    connected = [e for e in entries if e["jsonPayload"]["message"] == "websocket connected"]
    assert connected, "the event-flow test opened no connection"
    entry = connected[0]
    assert entry["severity"] == "INFO"
    assert entry["timestamp"].endswith("Z")
    assert entry["trace"].startswith("projects/local/traces/")
    assert entry["sourceLocation"]["file"] == "chatbackend/server.py"
    assert entry["sourceLocation"]["function"] == "handle_connection"
    assert int(entry["sourceLocation"]["line"]) > 0
    assert entry["jsonPayload"]["test"].endswith("test_websocket_event_flow_real")
    events = [
        e["jsonPayload"]["event"] for e in entries if "event" in e["jsonPayload"] and e.get("trace") == entry["trace"]
    ]
    assert events == ["agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed"]


def test_plain_hs256_token_is_the_whole_auth_contract(running_example: tuple[Path, TargetInfo]) -> None:
    """Any client (e.g. fixloop's probe) gets in with an HS256 token carrying sub, iat and exp."""
    repo, info = running_example
    secret = test_env(repo)["CHAT_JWT_SECRET"]
    now = int(time.time())
    token = jwt.encode({"sub": "probe", "iat": now, "exp": now + 60}, secret, algorithm="HS256")
    with connect(f"{info.ws_url}?token={token}", open_timeout=5, close_timeout=1) as ws:
        ws.send(json.dumps({"type": "chat", "text": "2 + 5", "id": "p1"}))
        events = [json.loads(ws.recv(timeout=5)) for _ in range(5)]
    assert [e["type"] for e in events][-1] == "agent_completed"
    assert events[-1]["data"]["answer"] == "7"
    with pytest.raises(InvalidStatus) as refused:
        connect(info.ws_url, additional_headers={"Authorization": "Bearer not-a-jwt"}, open_timeout=5).close()
    assert refused.value.response.status_code == 403
