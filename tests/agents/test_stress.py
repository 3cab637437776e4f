"""Stress re-runs: a patch that only sometimes makes the test pass is caught; a real fix passes all K."""

from __future__ import annotations

from pathlib import Path

from fixloop.agents.stress import split_stress_id, stress_rerun
from fixloop.config import Settings

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


def test_stress_ids_map_back_to_the_test() -> None:
    assert split_stress_id("t.py::test_a[stress3]") == ("t.py::test_a", 3)
    assert split_stress_id("t.py::test_a[x-1-stress12]") == ("t.py::test_a[x-1]", 12)
    assert split_stress_id("t.py::test_a[x]") == ("t.py::test_a[x]", 0)
