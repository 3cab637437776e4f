from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

from fixloop.config import Settings
from fixloop.records import Connection, Finding, TestResult, TestRun
from fixloop.tools.realness import check_realness
from fixloop.tools.run_tests import run_tests
from tests.tools.conftest import MixedRun, write_files
from tests.tools.library_repo import OFF_BY_ONE, make_library, run_library


def kinds_by_test(findings: list[Finding]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in findings:
        out.setdefault((f.test or "").split("::")[-1], set()).add(f.kind)
    return out


def test_real_run_findings_name_the_tests_and_the_evidence(mixed_run: MixedRun) -> None:
    findings = check_realness(mixed_run.run, Settings(), target_ports=[mixed_run.port])
    kinds = kinds_by_test(findings)
    assert kinds["test_fake_instant"] == {"fake-pass", "no-network"}
    assert kinds["test_hangs"] == {"timeout"}
    assert kinds["test_setup_hangs"] == {"setup-timeout"}
    assert kinds["test_swallows_error"] == {"swallowed-failure"}
    assert "collection-error" in kinds["tests/e2e/test_broken_import.py"]
    assert "test_talks_to_target" not in kinds  # it reached the target port: real
    fake = next(f for f in findings if f.kind == "fake-pass")
    assert fake.test == "tests/e2e/test_chat_e2e.py::test_fake_instant"
    assert "connections: none" in fake.evidence
    swallowed = next(f for f in findings if f.kind == "swallowed-failure")
    assert "swallowed: handshake failed" in swallowed.evidence
    skipped = next(f for f in findings if f.kind == "skipped")
    assert "Docker unavailable" in skipped.evidence and skipped.severity == "info"


def test_connection_to_another_port_is_not_the_target(mixed_run: MixedRun) -> None:
    findings = check_realness(mixed_run.run, Settings(), target_ports=[mixed_run.port + 1])
    assert "no-network" in kinds_by_test(findings)["test_talks_to_target"]


def test_all_skipped_run_proves_nothing_and_says_why(tmp_path: Path) -> None:
    repo = write_files(
        tmp_path / "repo",
        {
            "tests/mission_critical/test_events_suite.py": """
                import pytest

                pytestmark = pytest.mark.skip(reason="Docker unavailable (fast check) - use staging")

                def test_a():
                    pass

                def test_b():
                    pass
            """
        },
    )
    run = run_tests(repo, ["tests"], Settings(), out_dir=tmp_path / "out")
    (finding,) = check_realness(run, Settings())
    assert finding.kind == "all-skipped" and finding.severity == "error"
    assert "Docker unavailable (fast check)" in finding.message
    assert finding.evidence.startswith("2x Docker unavailable")


def _run(results: list[TestResult], *, timed_out: bool = False) -> TestRun:
    now = datetime.now(UTC)
    return TestRun(
        command=["pytest"],
        interpreter="python",
        cwd=".",
        started_at=now,
        finished_at=now,
        exit_code=0,
        results=results,
        timed_out=timed_out,
    )


def test_fast_pass_with_a_real_round_trip_is_not_fake() -> None:
    fast_real = TestResult(
        nodeid="tests/e2e/test_x.py::test_fast",
        outcome="passed",
        duration=0.0008,
        file="tests/e2e/test_x.py",
        connections=[Connection(host="127.0.0.1", port=8765)],
    )
    assert check_realness(_run([fast_real]), Settings(), target_ports=[8765]) == []


def test_unit_tests_are_not_expected_to_use_the_network_and_threshold_is_configurable() -> None:
    unit_file = "tests/unit/test_x.py"
    unit = TestResult(nodeid=f"{unit_file}::test_u", outcome="passed", duration=0.0, file=unit_file)
    marked = TestResult(nodeid="tests/test_y.py::test_m", outcome="passed", duration=0.2, file="tests/test_y.py",
                        keywords=["e2e"])  # fmt: skip
    findings = check_realness(_run([unit, marked]), Settings())
    assert [(f.kind, f.test) for f in findings] == [("no-network", "tests/test_y.py::test_m")]
    strict = Settings.model_validate({"tests": {"fake_pass_seconds": 0.5}})
    assert {f.kind for f in check_realness(_run([marked]), strict)} == {"fake-pass", "no-network"}


def test_nothing_ran_and_whole_run_timeout_are_findings() -> None:
    assert [f.kind for f in check_realness(_run([]), Settings())] == ["no-tests"]
    assert [f.kind for f in check_realness(_run([], timed_out=True), Settings())] == ["timeout"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_timeout_in_a_traceback_source_line_is_no_timeout_finding(tmp_path: Path) -> None:
    port = _closed_port()
    repo = write_files(
        tmp_path / "repo",
        {
            "tests/e2e/test_health_e2e.py": f"""
                import urllib.request


                def fetch(url, timeout=5.0):
                    return urllib.request.urlopen(url, timeout=timeout)


                def test_health_check():
                    fetch("http://127.0.0.1:{port}/health")
            """
        },
    )
    run = run_tests(repo, ["tests"], Settings(), out_dir=tmp_path / "out")
    (result,) = run.results
    assert result.outcome == "failed" and "Connection refused" in result.longrepr
    assert "timeout=" in result.longrepr  # the source lines of the traceback say it...
    assert [f for f in check_realness(run, Settings()) if "timeout" in f.kind] == []  # ...the failure does not


def test_a_real_pytest_timeout_hang_is_a_timeout_finding(tmp_path: Path) -> None:
    repo = write_files(
        tmp_path / "repo",
        {
            "tests/e2e/test_hang_e2e.py": """
                import time


                def test_waits_forever():
                    time.sleep(60)
            """
        },
    )
    run = run_tests(repo, ["tests"], Settings(), out_dir=tmp_path / "out", timeout=1.0, extra_args=["-p", "timeout"])
    (result,) = run.results
    assert "Failed: Timeout (>1.0s) from pytest-timeout" in result.longrepr
    findings = check_realness(run, Settings())
    assert [(f.kind, f.test) for f in findings] == [("timeout", "tests/e2e/test_hang_e2e.py::test_waits_forever")]


def test_a_fake_pass_is_judged_by_the_test_body_not_its_slow_fixtures() -> None:
    """On a loaded machine fixtures can take longer than the threshold; the body still did nothing."""
    file = "tests/e2e/test_x.py"
    slow_setup = TestResult(nodeid=f"{file}::test_fake", outcome="passed", duration=0.4, call_duration=0.0001,
                            file=file)  # fmt: skip
    slow_body = slow_setup.model_copy(update={"nodeid": f"{file}::test_slow", "call_duration": 0.2})
    kinds = kinds_by_test(check_realness(_run([slow_setup, slow_body]), Settings()))
    assert kinds == {"test_fake": {"fake-pass", "no-network"}, "test_slow": {"no-network"}}


def test_a_passing_test_that_expects_the_error_in_its_captured_log_is_not_a_swallowed_failure(tmp_path: Path) -> None:
    root = make_library(tmp_path / "lib", OFF_BY_ONE)
    run = run_library(root)
    expecting = next(r for r in run.results if r.nodeid.endswith("test_bad_line_is_rejected_and_logged"))
    assert expecting.outcome == "passed" and "Traceback" in expecting.log  # the error is there, and expected
    findings = check_realness(run, Settings())
    assert [f for f in findings if f.kind == "swallowed-failure"] == []
