"""Quarantine, not a fix: the repo's own flaky marker is found, or nothing is planned; tests get only the marker."""

from __future__ import annotations

import subprocess
from pathlib import Path

from fixloop.agents.quarantine import (
    commit_quarantine,
    flaky_marker,
    no_quarantine_note,
    plan_quarantine,
    quarantine_body,
    quarantine_title,
)
from fixloop.records import Category
from fixloop.scenarios import example_dir
from fixloop.state import Investigation, RerunRecord

TESTS = '''"""Chat tests."""

import pytest


@pytest.mark.websocket
def test_race(ws_url: str) -> None:
    assert ws_url


class TestChat:
    @pytest.mark.parametrize("n", [1, 2])
    async def test_many(self, n: int) -> None:
        assert n


@pytest.mark.flaky
def test_known() -> None:
    assert True
'''
RACE = "tests/test_chat.py::test_race"


def _repo(tmp_path: Path, ini: str = "", conftest: str = "", pyproject: str = "") -> Path:
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    (repo / "tests" / "test_chat.py").write_text(TESTS, encoding="utf-8")
    for name, text in (("pytest.ini", ini), ("tests/conftest.py", conftest), ("pyproject.toml", pyproject)):
        if text:
            (repo / name).write_text(text, encoding="utf-8")
    return repo


def test_the_example_registers_no_flaky_marker_so_nothing_is_planned() -> None:
    assert flaky_marker(example_dir()) is None
    inv = Investigation(iteration=1, category=Category(id="flaky-1", kind="flaky", title="Flaky"))
    assert plan_quarantine(example_dir(), [RACE]) is None
    assert "the repo registers no flaky marker" in no_quarantine_note(inv, None)


def test_the_marker_is_found_where_the_repo_registers_it(tmp_path: Path) -> None:
    ini = "[pytest]\nmarkers =\n    websocket: ws tests\n    flaky(reason): known flaky, quarantined\n"
    assert flaky_marker(_repo(tmp_path / "a", ini=ini)) == ("flaky", "pytest.ini")
    conftest = 'def pytest_configure(config):\n    config.addinivalue_line("markers", "quarantine: skip in CI")\n'
    assert flaky_marker(_repo(tmp_path / "b", conftest=conftest)) == ("quarantine", "tests/conftest.py")
    pyproject = '[tool.pytest.ini_options]\nmarkers = ["flaky: known flaky"]\n'
    assert flaky_marker(_repo(tmp_path / "c", pyproject=pyproject)) == ("flaky", "pyproject.toml")
    assert flaky_marker(_repo(tmp_path / "d", ini="[pytest]\nmarkers =\n    websocket: ws\n")) is None


def test_the_plan_only_adds_the_marker_and_leaves_marked_or_missing_tests(tmp_path: Path) -> None:
    repo = _repo(tmp_path, ini="[pytest]\nmarkers =\n    flaky: known flaky\n")
    tests = [RACE, "tests/test_chat.py::TestChat::test_many[2]", "tests/test_chat.py::test_known", "tests/x.py::t"]
    plan = plan_quarantine(repo, tests)
    assert plan is not None and plan.marked == tests[:2]
    assert plan.left == [
        "tests/test_chat.py::test_known: already marked flaky",
        "tests/x.py::t: tests/x.py cannot be read",
    ]
    new = plan.edits["tests/test_chat.py"]
    assert new.count("@pytest.mark.flaky") == 3 and len(new.splitlines()) == len(TESTS.splitlines()) + 2
    assert "@pytest.mark.websocket\n@pytest.mark.flaky\ndef test_race(" in new
    assert "    @pytest.mark.flaky\n    async def test_many(" in new


def test_the_quarantine_branch_carries_only_the_marker(tmp_path: Path) -> None:
    repo = _repo(tmp_path, ini="[pytest]\nmarkers =\n    flaky: known flaky\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@fixloop.invalid"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=repo, check=True)
    plan = plan_quarantine(repo, [RACE])
    assert plan is not None
    commit_quarantine(repo, "fixloop/t/q", plan, tmp_path / "wt", "quarantine")
    diff = subprocess.run(["git", "diff", "main", "fixloop/t/q"], cwd=repo, capture_output=True, text=True).stdout
    assert [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")] == [
        "+@pytest.mark.flaky"
    ]
    assert not (tmp_path / "wt").exists()  # the worktree is gone, the branch stays

    category = Category(id="flaky-1", kind="flaky", title="Flaky", tests=[RACE])
    inv = Investigation(iteration=1, category=category)
    reruns = [RerunRecord(rerun=1, outcomes={RACE: "failed"}), RerunRecord(rerun=2, outcomes={RACE: "passed"})]
    assert quarantine_title(inv, plan) == "fixloop: quarantine, not a fix: mark 1 flaky test flaky [flaky-1]"
    body = quarantine_body("run-1", inv, plan, reruns)
    assert body.startswith("**Quarantine, not a fix.**") and "needs a human approval" in body
    assert f"- re-run 2: `{RACE}` passed" in body
