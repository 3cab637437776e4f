"""The select / test / probe stage commands, run as real `python -m fixloop` subprocesses."""

from __future__ import annotations

import json
from pathlib import Path

from fixloop.records import Selection, TestPhaseReport
from tests.conftest import CliRunner
from tests.tools.chat_server import SECRET, running_chat_server
from tests.tools.conftest import write_files

SUITE = {
    "tests/e2e/test_1_websocket_events.py": """
        def test_ws_events_arrive():
            assert "ws://127.0.0.1:1/ws"

        def test_ws_event_order():
            print("server sent agent_completed before agent_started")
            assert ["agent_completed", "agent_started"] == ["agent_started", "agent_completed"]
    """,
    "tests/unit/test_billing.py": "def test_invoice():\n    pass\n",
}


def test_select_json_prints_ranked_tiers(tmp_path: Path, run_cli: CliRunner) -> None:
    repo = write_files(tmp_path / "repo", SUITE)
    proc = run_cli("select", "--repo", str(repo), "--focus", "websockets", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["tiers"][0]["priority"] == 1
    (chosen,) = data["tiers"][0]["files"]
    assert chosen["path"] == "tests/e2e/test_1_websocket_events.py"
    assert chosen["reason"] and len(chosen["tests"]) == 2
    assert "test_billing" not in proc.stdout
    Selection.model_validate(data)


def test_select_unknown_focus_exits_zero_with_a_message(tmp_path: Path, run_cli: CliRunner) -> None:
    repo = write_files(tmp_path / "repo", SUITE)
    proc = run_cli("select", "--repo", str(repo), "--focus", "kubernetes")
    assert proc.returncode == 0
    assert "no test matches focus 'kubernetes'" in proc.stdout


def test_test_by_focus_reports_real_failures_and_writes_results(tmp_path: Path, run_cli: CliRunner) -> None:
    repo = write_files(tmp_path / "repo", SUITE)
    out = tmp_path / "out"
    proc = run_cli("test", "--repo", str(repo), "--focus", "ws", "--json", "--out", str(out), "--timeout", "30")
    assert proc.returncode == 1, proc.stderr
    report = TestPhaseReport.model_validate_json(proc.stdout)
    assert report.selection is not None and report.run.counts() == {"passed": 1, "failed": 1}
    (failed,) = report.run.failures()
    assert failed.nodeid == "tests/e2e/test_1_websocket_events.py::test_ws_event_order"
    assert "server sent agent_completed before agent_started" in failed.stdout
    assert "AssertionError" in failed.longrepr
    assert [(t.priority, t.holds) for t in report.tiers] == [(1, False)]
    assert {f.kind for f in report.findings} >= {"fake-pass", "no-network"}
    saved = TestPhaseReport.model_validate_json((out / "results.json").read_text())
    assert saved.run.results == report.run.results
    human = run_cli("test", "--repo", str(repo), "tests/e2e/test_1_websocket_events.py::test_ws_event_order")
    assert human.returncode == 1
    assert "FAILED" in human.stdout and "server sent agent_completed" in human.stdout


def test_test_needs_ids_or_focus(tmp_path: Path, run_cli: CliRunner) -> None:
    proc = run_cli("test", "--repo", str(tmp_path))
    assert proc.returncode == 2 and "nothing to run" in proc.stderr and "Traceback" not in proc.stderr


def test_probe_ws_reports_events_and_handshake_500(run_cli: CliRunner) -> None:
    env = {"CHAT_JWT_SECRET": SECRET}
    with running_chat_server("healthy") as server:
        good = run_cli("probe", "ws", server.ws_url, "--json", "--clients", "2", env=env)
    assert good.returncode == 0, good.stdout + good.stderr
    assert json.loads(good.stdout)["events"] == [
        "agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed",
    ]  # fmt: skip
    with running_chat_server("handshake-500") as server:
        bad = run_cli("probe", "ws", server.ws_url, env=env)
    assert bad.returncode == 1
    assert "HTTP 500" in bad.stdout and "FAIL" in bad.stdout


def test_probe_http_and_bad_url(run_cli: CliRunner) -> None:
    with running_chat_server("healthy") as server:
        proc = run_cli("probe", "http", server.http_url, "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["revision"] == "abc1234"
    bad = run_cli("probe", "ws", "not-a-url")
    assert bad.returncode == 2 and "not a WebSocket URL" in bad.stderr and "Traceback" not in bad.stderr
