"""Stress re-runs: a patch that only sometimes makes the test pass is caught; a real fix passes all K."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fixloop.agents.stress import split_stress_id, stress_rerun
from fixloop.config import Settings
from fixloop.demo import run_demo
from fixloop.scenarios import load_scenario, prepare_workspace
from fixloop.target import stop_target

# The "patched" code under test: correct on odd calls only, the shape of a fix that hides a race.
SOMETIMES_FIXED = """
from pathlib import Path

COUNTER = Path(__file__).with_name("calls.txt")


def test_answer_is_for_this_client():
    calls = int(COUNTER.read_text()) + 1 if COUNTER.exists() else 1
    COUNTER.write_text(str(calls))
    answer = "11" if calls % 2 else "22"  # every other run sees another client's answer
    assert answer == "11"
"""

ALWAYS_FIXED = """
def test_answer_is_for_this_client():
    assert "11" == "11"
"""


def _repo(tmp_path: Path, body: str) -> Path:
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    (repo / "tests" / "test_race.py").write_text(body, encoding="utf-8")
    return repo


TEST = "tests/test_race.py::test_answer_is_for_this_client"


def test_a_patch_that_only_sometimes_fixes_the_test_is_blocked(tmp_path: Path) -> None:
    repo = _repo(tmp_path, SOMETIMES_FIXED)
    result = stress_rerun(repo, [TEST], Settings(), runs=4, out_dir=tmp_path / "out")
    assert [r.failing for r in result.results] == [[], [TEST], [], [TEST]]
    assert result.failures == 2
    assert result.describe().startswith("2/4 re-runs green (#1 1 passed; #2 1 failed;")
    finding = result.finding("flaky-1")
    assert finding.kind == "stress-failure" and finding.severity == "error"
    assert "2 of 4 stress re-runs failed" in finding.message and TEST in finding.evidence
    junit = (tmp_path / "out" / "junit.xml").read_text(encoding="utf-8")
    assert junit.count("<testcase") == 4  # every re-run really ran, as its own test case


def test_a_real_fix_passes_every_re_run(tmp_path: Path) -> None:
    repo = _repo(tmp_path, ALWAYS_FIXED)
    result = stress_rerun(repo, [TEST], Settings(), runs=3, out_dir=tmp_path / "out")
    assert result.failures == 0 and len(result.results) == 3
    assert all(r.counts == {"passed": 1} for r in result.results)


def test_a_test_that_never_ran_counts_as_a_failure(tmp_path: Path) -> None:
    repo = _repo(tmp_path, ALWAYS_FIXED)
    ghost = "tests/test_race.py::test_gone"
    result = stress_rerun(repo, [ghost], Settings(), runs=2, out_dir=tmp_path / "out")
    assert result.failures == 2


# itsdangerous' shape: the variants come from a fixture's params, in a class (``test_x[value0]``, ``test_x[zlib]``)
FIXTURE_PARAMS = """
import pytest


class TestSerializer:
    @pytest.fixture(params=({"id": 42}, pytest.param("a" * 10, id="zlib")))
    def value(self, request):
        return request.param

    def test_round_trip(self, value):
        assert value
"""


def test_a_variant_of_a_fixture_parametrized_test_is_rerun_by_its_own_id(tmp_path: Path) -> None:
    repo = _repo(tmp_path, FIXTURE_PARAMS)
    asked = "tests/test_race.py::TestSerializer::test_round_trip[zlib]"
    result = stress_rerun(repo, [asked], Settings(), runs=2, out_dir=tmp_path / "out")
    assert result.failures == 0, result.describe()
    assert [r.counts for r in result.results] == [{"passed": 1}, {"passed": 1}]  # [value0] is not counted


def test_stress_ids_map_back_to_the_test() -> None:
    assert split_stress_id("t.py::test_a[stress3]") == ("t.py::test_a", 3)
    assert split_stress_id("t.py::test_a[x-1-stress12]") == ("t.py::test_a[x-1]", 12)
    assert split_stress_id("t.py::test_a[x]") == ("t.py::test_a[x]", 0)


SOMETIMES_PATCHED_SESSION = '''def open_session(claims: dict[str, Any], test_id: str | None) -> Session:
    """The session of a verified connection."""
    key = "sub" if _this_process_works() else "user_id"
    return Session(user=str(claims[key]), connection_id=uuid.uuid4().hex[:12], test_id=test_id)


_WORKS: list[bool] = []


def _this_process_works() -> bool:
    """A fix that holds in every other server process only (counted in a file beside this module)."""
    if not _WORKS:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".starts")
        count = int(open(path).read()) + 1 if os.path.exists(path) else 1
        with open(path, "w") as handle:
            handle.write(str(count))
        _WORKS.append(count % 2 == 1)
    return _WORKS[0]
'''


def _sometimes_fix_patch(tmp_path: Path) -> str:
    """A patch on the handshake-500 fault that fixes it in the validation target but not in the next one."""
    repo = prepare_workspace(tmp_path / "patch-src", load_scenario("handshake-500"))
    server = repo / "chatbackend" / "server.py"
    text = server.read_text(encoding="utf-8")
    start = text.index("def open_session(")
    end = text.index("\n\n\n", start) + 1
    server.write_text(text[:start] + SOMETIMES_PATCHED_SESSION + text[end:], encoding="utf-8")
    return subprocess.run(["git", "diff"], cwd=repo, capture_output=True, text=True, check=True).stdout


@pytest.mark.slow
def test_the_loop_blocks_a_patch_that_only_sometimes_fixes_the_fault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fix: dict[str, object] = {
        "summary": "scripted patch that holds in every other process",
        "patch": _sometimes_fix_patch(tmp_path),
    }
    fix["files"] = ["chatbackend/server.py"]
    monkeypatch.setenv("FIXLOOP_SCRIPTED_STEPS", json.dumps({"fix": [fix]}))  # the scripted model's reply
    monkeypatch.setenv("FIXLOOP_LIMITS__MAX_FIX_ATTEMPTS", "1")
    out = tmp_path / "run"
    try:
        run_demo(llm="scripted", out=out, stop_at="pr")
    finally:
        stop_target(out / "workspace")
    doc = json.loads((out / "run.json").read_text(encoding="utf-8"))
    category = doc["iterations"][0]["categories"][0]
    attempt = category["attempts"][0]
    assert attempt["outcome"].startswith("stress re-runs failed: 0/5 re-runs green")  # validation alone passed
    assert attempt["validated"] is False and category["fix"] is None and category["pr"] is None
    assert any(f["kind"] == "stress-failure" for f in category["investigation_findings"])
    assert doc["status"] == "gave_up" and doc["prs"] == []
    score = next(s for s in doc["fixability"] if s["category"] == category["id"])
    assert score["parts"]["stress"] == 0.0 and score["allowed"] == "diagnose"
