"""The must-shows of issue #3 on the bundled example target, started for real on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from fixloop.records import TestPhaseReport
from fixloop.scenarios import example_dir, load_scenario, prepare_workspace
from fixloop.target import TargetInfo, start_target, stop_target, test_env
from tests.conftest import CliRunner

P1_FILE = "tests/e2e/staging/test_1_websocket_events_staging.py"
EVENTS = ["agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed"]


@contextmanager
def running(tmp_path: Path, scenario: str | None) -> Iterator[tuple[Path, TargetInfo]]:
    repo = prepare_workspace(tmp_path / (scenario or "healthy"), load_scenario(scenario) if scenario else None)
    info = start_target(repo)
    try:
        yield repo, info
    finally:
        stop_target(repo)


def test_select_websockets_on_the_example(run_cli: CliRunner) -> None:
    proc = run_cli("select", "--repo", str(example_dir()), "--focus", "websockets", "--json")
    assert proc.returncode == 0, proc.stderr
    tiers = {t["priority"]: [f["path"] for f in t["files"]] for t in json.loads(proc.stdout)["tiers"]}
    assert tiers[1] == [P1_FILE]
    assert "tests/e2e/staging/test_staging_websocket_messaging.py" in tiers[2]  # the index's P2, not a guess
    chosen = [p for paths in tiers.values() for p in paths]
    assert not [p for p in chosen if "billing" in p or "profile" in p]
    assert json.loads(proc.stdout)["tiers"][0]["impact"].startswith("$500K+")


@pytest.mark.slow
def test_healthy_example_runs_green_real_and_probes_clean(tmp_path: Path, run_cli: CliRunner) -> None:
    with running(tmp_path, None) as (repo, info):
        proc = run_cli("test", "--repo", str(repo), "--focus", "websockets", "--json", "--out", str(tmp_path / "o"))
        report = TestPhaseReport.model_validate_json(proc.stdout)
        probe = run_cli("probe", "ws", info.ws_url, "--json", env=test_env(repo))
        http = run_cli("probe", "http", info.http_url, "--json", "--expect-revision", info.revision)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert report.run.failures() == [] and report.run.counts()["passed"] >= 10
    assert [f.kind for f in report.findings] == []
    assert all(t.holds for t in report.tiers) and report.tiers[0].priority == 1
    assert report.run.revision == info.revision
    every_test_reached_the_target = all(any(c.port == info.port for c in r.connections) for r in report.run.results)
    assert every_test_reached_the_target
    assert probe.returncode == 0, probe.stdout
    assert json.loads(probe.stdout)["events"] == EVENTS
    assert http.returncode == 0 and json.loads(http.stdout)["revision"] == info.revision


@pytest.mark.slow
def test_handshake_500_fault_fails_tests_with_real_output_and_probe_sees_500(
    tmp_path: Path, run_cli: CliRunner
) -> None:
    with running(tmp_path, "handshake-500") as (repo, info):
        proc = run_cli("test", "--repo", str(repo), P1_FILE, "--json", "--out", str(tmp_path / "o"))
        probe = run_cli("probe", "ws", info.ws_url, env=test_env(repo))
    assert proc.returncode == 1
    report = TestPhaseReport.model_validate_json(proc.stdout)
    failed = {r.nodeid for r in report.run.failures()}
    failing_tests = load_scenario("handshake-500").extra["failing_tests"]
    assert isinstance(failing_tests, list), failing_tests
    assert set(failing_tests) <= failed
    connection = next(r for r in report.run.failures() if r.nodeid.endswith("::test_websocket_connection"))
    assert "HTTP 500" in connection.longrepr and "InvalidStatus" in connection.longrepr
    assert probe.returncode == 1
    assert "HTTP 500" in probe.stdout


@pytest.mark.slow
def test_fake_test_scenario_is_named_by_the_realness_finding(tmp_path: Path, run_cli: CliRunner) -> None:
    fake = str(load_scenario("fake-test").extra["fake_test"])
    with running(tmp_path, "fake-test") as (repo, _info):
        proc = run_cli("test", "--repo", str(repo), P1_FILE, "--json", "--out", str(tmp_path / "o"))
    report = TestPhaseReport.model_validate_json(proc.stdout)
    assert report.run.failures() == []
    kinds = {f.kind for f in report.findings if f.test == fake}
    assert kinds == {"fake-pass", "no-network"}
    assert proc.returncode == 0  # warnings do not fail the phase; the loop's triage turns them into a category
