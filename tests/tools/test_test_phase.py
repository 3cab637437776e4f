from __future__ import annotations

from pathlib import Path

from fixloop.config import Settings
from fixloop.tools.select_tests import select_tests
from fixloop.tools.test_phase import RESULTS_FILE, load_report, phase_ok, run_test_phase, target_ports
from tests.tools.chat_server import running_chat_server
from tests.tools.conftest import write_files

INDEX = """
# Index
## Priority 1: Socket (P1)
**Failure tolerance**: 0%
**Required env vars**: `CHAT_HTTP_URL`, `FIXLOOP_TEST_NEVER_SET_SECRET`
- `tests/e2e/test_socket_health.py`
"""

HEALTH_TEST = """
import os
import urllib.request


def test_socket_health():
    with urllib.request.urlopen(os.environ["CHAT_HTTP_URL"] + "/health", timeout=10) as response:
        assert response.status == 200
"""


def test_phase_runs_judges_and_saves(tmp_path: Path) -> None:
    repo = write_files(
        tmp_path / "repo", {"tests/TEST_INDEX.md": INDEX, "tests/e2e/test_socket_health.py": HEALTH_TEST}
    )
    selection = select_tests(repo, "ws", Settings())
    assert selection.test_targets() == ["tests/e2e/test_socket_health.py::test_socket_health"]
    with running_chat_server("healthy") as server:
        env = {"CHAT_HTTP_URL": server.http_url, "CHAT_WS_URL": server.ws_url}
        report = run_test_phase(
            repo, selection.test_targets(), Settings(), selection=selection, env=env, out_dir=tmp_path / "out"
        )
    assert report.run.counts() == {"passed": 1}
    assert report.run.revision == "abc1234"  # what the target's /health reported
    assert [(t.priority, t.holds) for t in report.tiers] == [(1, True)]
    (missing,) = report.findings
    assert missing.kind == "missing-env" and "FIXLOOP_TEST_NEVER_SET_SECRET" in missing.message
    assert "CHAT_HTTP_URL" not in missing.message
    assert missing.severity == "warning" and phase_ok(report)  # the test passed: a warning, not a failure
    assert load_report(tmp_path / "out" / RESULTS_FILE) == report


def test_target_ports_from_env_urls() -> None:
    env = {"A": "http://127.0.0.1:8765", "B": "ws://127.0.0.1:9000/ws", "C": "wss://h/ws", "D": "not a url"}
    assert target_ports(env) == [443, 8765, 9000]
