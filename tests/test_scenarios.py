"""Every seeded-fault scenario is proven for real: its fault breaks the running example, its gold fixes it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fixloop.errors import FixloopError, TargetError, UsageError
from fixloop.records import CATEGORY_KINDS
from fixloop.scenarios import (
    Scenario,
    apply_patch,
    fault_commit_message,
    list_scenarios,
    load_scenario,
    prepare_workspace,
)
from fixloop.target import start_target, stop_target, target_status, test_env
from tests.conftest import PROJECT_ROOT
from tests.examples.suite import P1_FILE, SuiteResult, run_suite

SCENARIO_NAMES = sorted(p.parent.name for p in (PROJECT_ROOT / "evals" / "scenarios").glob("*/scenario.toml"))
FLAKY_MAX_RUNS = 10  # the race fails in roughly half of the runs; 10 misses in a row is ~1 in 5000


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def log_entries(repo: Path) -> list[dict]:
    path = repo / ".fixloop" / "target.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def connections_seen_by_target(repo: Path) -> set[str]:
    return {e["jsonPayload"]["test"] for e in log_entries(repo) if "test" in e["jsonPayload"]}


def test_at_least_eight_scenarios_covering_every_kind() -> None:
    scenarios = list_scenarios()
    assert [s.name for s in scenarios] == SCENARIO_NAMES
    assert len(scenarios) >= 8
    kinds = {kind for scenario in scenarios for kind in scenario.expected_kinds}
    assert kinds == set(CATEGORY_KINDS)
    for scenario in scenarios:
        assert scenario.fault_patch.is_file() and scenario.gold_patch.is_file()
        assert scenario.description and scenario.focus and scenario.trigger
        if not scenario.expected_file.startswith("tests/"):
            assert (
                scenario.expected_function
                in (Path(__file__).parents[1] / "examples" / "chatbackend" / scenario.expected_file).read_text()
            )
    assert [s.name for s in scenarios if s.flaky] == ["flaky-race"]


def test_unknown_scenario_names_the_known_ones() -> None:
    with pytest.raises(UsageError) as info:
        load_scenario("no-such-scenario")
    assert "handshake-500" in info.value.one_line()
    assert "flaky-race" in info.value.one_line()


def test_prepare_workspace_makes_baseline_and_fault_commits(tmp_path: Path) -> None:
    scenario = load_scenario("handshake-500")
    repo = prepare_workspace(tmp_path / "ws", scenario)
    assert git(repo, "log", "--format=%s").splitlines() == [
        fault_commit_message(scenario),
        "baseline",
    ]
    assert scenario.description not in git(repo, "log", "--format=%B")  # the history does not give the answer away
    assert git(repo, "status", "--porcelain") == ""
    assert 'claims["user_id"]' in (repo / "chatbackend" / "server.py").read_text()
    assert not (repo / ".fixloop").exists()
    with pytest.raises(UsageError, match="not empty"):
        prepare_workspace(repo, None)


def test_gold_patch_does_not_apply_twice(tmp_path: Path) -> None:
    scenario = load_scenario("jwt-skew")
    repo = prepare_workspace(tmp_path / "ws", scenario)
    apply_patch(repo, scenario.gold_patch)
    with pytest.raises(FixloopError, match="does not apply"):
        apply_patch(repo, scenario.gold_patch)


def extra_list(scenario: Scenario, key: str, *, required: bool = False) -> list[object]:
    """``scenario.extra[key]``, which must be a list; a missing optional key is an empty list."""
    value = scenario.extra[key] if required else scenario.extra.get(key, [])
    assert isinstance(value, list), f"{scenario.name}: {key} must be a list"
    return value


def fault_files(scenario: Scenario) -> list[str]:
    listed = [str(test).split("::")[0] for test in extra_list(scenario, "failing_tests")]
    return sorted({P1_FILE, *listed})


def show_fault(repo: Path, scenario: Scenario) -> SuiteResult:
    """Run the focus tier (and the files of the expected failures) against the broken target."""
    if scenario.extra.get("start_fails"):
        with pytest.raises(TargetError, match=f"exited with code {scenario.extra.get('start_exit_code', 2)}"):
            start_target(repo)
        failed = target_status(repo)
        assert failed is not None and not failed.running and failed.error
        env = {"CHAT_HTTP_URL": failed.http_url, "CHAT_WS_URL": failed.ws_url, "CHAT_JWT_SECRET": "x" * 32}
        return run_suite(repo, env, *fault_files(scenario))
    start_target(repo)
    try:
        if scenario.flaky:
            for _ in range(FLAKY_MAX_RUNS):
                result = run_suite(repo, test_env(repo), f"{P1_FILE}::test_concurrent_websocket_real")
                if result.failed:
                    break
            return result
        return run_suite(repo, test_env(repo), *fault_files(scenario))
    finally:
        stop_target(repo)


@pytest.mark.slow
@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_fault_shows_and_gold_fixes(name: str, tmp_path: Path) -> None:
    scenario = load_scenario(name)
    repo = prepare_workspace(tmp_path / name, scenario)

    broken = show_fault(repo, scenario)
    assert broken.cases, broken.output
    expected_failures = [str(test) for test in extra_list(scenario, "failing_tests")]
    failed_ids = {case.nodeid for case in broken.failed}
    assert set(expected_failures) <= failed_ids, broken.output
    if name == "fake-test":
        fake = str(scenario.extra["fake_test"])
        assert broken.outcome(fake.split("::")[1]) == "passed"
        seen = connections_seen_by_target(repo)
        assert seen, "the other tests did reach the target"
        assert fake not in seen, "the fake test must not have touched the target"
    else:
        assert failed_ids, f"{name}: the fault did not show\n{broken.output}"
    if scenario.extra.get("start_fails"):
        assert "ConnectionRefusedError" in broken.output or "Connection refused" in broken.output
    evidence = scenario.extra.get("log_evidence")
    if evidence:
        assert isinstance(evidence, str), evidence
        assert any(evidence in json.dumps(entry) for entry in log_entries(repo)), f"no log line with {evidence!r}"
    check_harder_fault(repo, scenario, broken)

    apply_patch(repo, scenario.gold_patch)
    git(repo, "commit", "-qam", f"fix {name}")
    info = start_target(repo)
    try:
        fixed = run_suite(repo, test_env(repo))
    finally:
        stop_target(repo)
    assert fixed.returncode == 0, fixed.output
    assert not fixed.failed and len(fixed.passed) == len(fixed.cases) >= 22
    assert info.revision == git(repo, "rev-parse", "HEAD").strip()
    assert info.revision in {e["resource"]["labels"]["revision_name"] for e in log_entries(repo)}
    if name == "fake-test":
        assert str(scenario.extra["fake_test"]) in connections_seen_by_target(repo)


# ---------------------------------------------------------------- the harder scenarios (issue #8)

HARDER = {
    "two-faults": {"server-error", "auth"},
    "config-far-cause": {"auth"},
    "lookalike-logs": {"server-error"},
    "ssot-trap": {"timeout"},
    "infra-down": {"environment"},
}
CODE_DIR, TESTS_DIR = "chatbackend/", "tests/"


def patched_files(patch: Path) -> set[str]:
    """The example-relative paths a patch touches."""
    lines = patch.read_text().splitlines()
    return {line.split(" ", 1)[1][2:] for line in lines if line.startswith(("--- a/", "+++ b/"))}


def faults_of(scenario: Scenario) -> list[dict]:
    faults = scenario.extra.get("faults", [])
    assert isinstance(faults, list)
    return faults


def last_frame_file(stack_trace: str) -> str:
    """The file of the innermost frame of a Python traceback."""
    frames = [line.strip() for line in stack_trace.splitlines() if line.strip().startswith('File "')]
    return frames[-1].split('"')[1] if frames else ""


def check_harder_fault(repo: Path, scenario: Scenario, broken: SuiteResult) -> None:
    """What the extra keys of a scenario promise, checked against the broken run."""
    console_evidence = scenario.extra.get("console_evidence")
    if console_evidence:
        console = (repo / ".fixloop" / "target.console.log").read_text()
        assert str(console_evidence) in console, console[-2000:]
    for fault in faults_of(scenario):
        failed = {case.nodeid for case in broken.failed}
        assert set(fault["failing_tests"]) <= failed, (fault, broken.output)
    if scenario.extra.get("far_from_symptom"):
        for nodeid in extra_list(scenario, "failing_tests", required=True):
            case = next(case for case in broken.cases if case.nodeid == nodeid)
            assert "WebSocket connection" in case.message, case.message
        logged = json.dumps(log_entries(repo))
        assert scenario.expected_file not in logged, "the logs must not point at the far cause"
    same_symptom = scenario.extra.get("same_symptom")
    if same_symptom:
        for nodeid in extra_list(scenario, "failing_tests", required=True):
            case = next(case for case in broken.cases if case.nodeid == nodeid)
            assert str(same_symptom) in case.message, case.message
        errors = [e["jsonPayload"] for e in log_entries(repo) if "stack_trace" in e["jsonPayload"]]
        assert errors, "the lookalike must leave a stack trace in the logs"
        innermost = {last_frame_file(payload["stack_trace"]) for payload in errors}
        lookalike = load_scenario(str(scenario.extra["lookalike_of"]))
        assert all(path.endswith("/" + scenario.expected_file) for path in innermost), innermost
        assert not any(path.endswith("/" + lookalike.expected_file) for path in innermost), innermost


def test_harder_scenarios_and_honest_gold_patches() -> None:
    scenarios = {s.name: s for s in list_scenarios()}
    assert len(scenarios) >= 8 + len(HARDER) >= 12
    for name, kinds in HARDER.items():
        assert set(scenarios[name].expected_kinds) == kinds, name
    for scenario in scenarios.values():
        gold_files = patched_files(scenario.gold_patch)
        assert gold_files, f"{scenario.name}: empty gold.patch"
        if "test-defect" not in scenario.expected_kinds:
            assert not any(f.startswith(TESTS_DIR) for f in gold_files), f"{scenario.name} gold edits tests"
        if scenario.expected_file and not scenario.expected_file.startswith(TESTS_DIR):
            assert scenario.expected_file in patched_files(scenario.fault_patch), scenario.name


def test_two_faults_declares_one_fault_per_kind_in_different_files() -> None:
    scenario = load_scenario("two-faults")
    faults = faults_of(scenario)
    assert sorted(f["kind"] for f in faults) == sorted(scenario.expected_kinds)
    assert len({f["file"] for f in faults}) == len(faults) == 2
    assert {f["file"] for f in faults} == patched_files(scenario.fault_patch) == patched_files(scenario.gold_patch)
    assert scenario.expected_file in {f["file"] for f in faults}
    tests_of = [set(f["failing_tests"]) for f in faults]
    assert not tests_of[0] & tests_of[1], "each fault breaks its own tests"


def test_lookalike_has_the_same_symptom_and_a_different_cause() -> None:
    scenario = load_scenario("lookalike-logs")
    other = load_scenario(str(scenario.extra["lookalike_of"]))
    assert scenario.expected_kinds == other.expected_kinds
    assert scenario.expected_file != other.expected_file
    assert scenario.extra["failing_tests"] == other.extra["failing_tests"]
    assert str(scenario.extra["same_symptom"]) in str(other.extra["symptom"])


def test_far_cause_is_in_config_loading() -> None:
    scenario = load_scenario("config-far-cause")
    assert scenario.expected_file == "chatbackend/config.py"
    assert patched_files(scenario.fault_patch) == {"chatbackend/config.py"}
    assert scenario.extra["far_from_symptom"]


def test_infra_failure_is_reported_not_fixed_in_code_or_tests() -> None:
    scenario = load_scenario("infra-down")
    assert scenario.extra["report_only"] is True
    for patch in (scenario.fault_patch, scenario.gold_patch):
        touched = patched_files(patch)
        assert touched == {scenario.expected_file} == {"fixloop.toml"}
        assert not any(f.startswith((CODE_DIR, TESTS_DIR)) for f in touched)


@pytest.mark.slow
def test_two_faults_are_independent(tmp_path: Path) -> None:
    """Fixing one fault's file leaves exactly the other fault's tests failing."""
    scenario = load_scenario("two-faults")
    first, second = faults_of(scenario)
    repo = prepare_workspace(tmp_path / "ws", scenario)
    git(repo, "apply", f"--include={first['file']}", str(scenario.gold_patch))
    git(repo, "commit", "-qam", f"fix {first['kind']} only")
    start_target(repo)
    try:
        tests = [*first["failing_tests"], *second["failing_tests"]]
        result = run_suite(repo, test_env(repo), *tests)
    finally:
        stop_target(repo)
    assert {case.nodeid for case in result.failed} == set(second["failing_tests"]), result.output
    assert {case.nodeid for case in result.passed} == set(first["failing_tests"]), result.output
