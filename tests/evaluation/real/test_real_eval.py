"""One small real case end to end (hyperframe from PyPI: its sdist, a venv with pytest), as CI runs it.

Needs the package index for the first download; the second build must need no network.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fixloop.evaluation.real.build import build_case
from fixloop.evaluation.real.recipes import Edit, RealCase, load_projects, select_cases
from fixloop.evaluation.real.report import real_totals
from fixloop.evaluation.real.triage import evaluate_real_case
from tests.conftest import CliRunner

CASE = "hyperframe-settings-error-swallowed"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fixloop-home")


@pytest.mark.slow
def test_one_real_case_through_the_cli(run_cli: CliRunner, home: Path, tmp_path: Path) -> None:
    proc = run_cli(
        "eval", "--suite", "real", "--stage", "triage", "--case", CASE, "--workers", "1", "--json",
        "--work-dir", str(tmp_path / "work"), env={"FIXLOOP_HOME": str(home)}, timeout=900,
    )  # fmt: skip
    result = json.loads(proc.stdout)
    (row,) = result["rows"]
    assert row["error"] == "", row["error"]
    assert row["reproduced"], row["reproduction"]
    assert row["fault_tests"] >= 1 and row["fault_tests_run"] == row["fault_tests"]
    assert row["expected_kind"] == "protocol" and row["kind_ok"], row["found_kinds"]
    assert row["file_rank"] is not None, row["ranked"]
    assert row["plain_seconds"] is not None and row["bound_seconds"] is not None
    assert result["totals"]["scored"] == 1.0
    assert proc.returncode == (0 if result["met"] else 1)
    assert (home / "real" / "venvs" / "hyperframe-6.1.0" / "bin" / "python").exists()


@pytest.mark.slow
def test_a_second_build_needs_no_network_and_a_silent_fault_is_not_scored(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIXLOOP_HOME", str(home))
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # any download or install would fail now
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    ((project, case),) = select_cases(load_projects(), CASE)
    built = build_case(project, case, tmp_path / "again" / "repo", home / "real")
    assert built.reproduced and built.fault_failing, built.note
    log = subprocess.run(["git", "log", "--format=%s"], cwd=built.repo, capture_output=True, text=True, check=True)
    assert log.stdout.splitlines() == ["Refactor hyperframe", "Import hyperframe 6.1.0"]  # neutral: no answer in it

    silent = RealCase(
        name="hyperframe-comment-only", fault="wrong-constant", description="changes a comment only",
        focus="frame", kind="protocol", file="src/hyperframe/frame.py", function="Frame.parse_frame_header",
        edits=[Edit(file="src/hyperframe/frame.py", old="# First 24 bits are frame length.", new="# length")],
    )  # fmt: skip
    row = evaluate_real_case(project, silent, tmp_path / "silent", home / "real")
    assert not row.reproduced and "no test fails with the fault" in row.reproduction
    assert row.file_rank is None and not row.kind_ok
    assert real_totals([row])["scored"] == 0.0 and real_totals([row])["reproduced"] == 0.0
