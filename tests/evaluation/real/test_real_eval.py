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
from tests.evaluation.real.conftest import CASE, RealEvalCli


@pytest.mark.slow
def test_one_real_case_end_to_end_then_from_the_cache_alone(
    real_eval_cli: RealEvalCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One test, not two: the second half needs the first half's cache (xdist would split a module)."""
    home = tmp_path / "home"
    proc = real_eval_cli("--stage", "triage")
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

    # a second build needs no network, and a fault that changes no test's outcome is reported, not scored
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
    unscored = evaluate_real_case(project, silent, tmp_path / "silent", home / "real")
    assert not unscored.reproduced and "no test fails with the fault" in unscored.reproduction
    assert unscored.file_rank is None and not unscored.kind_ok
    assert real_totals([unscored])["scored"] == 0.0 and real_totals([unscored])["reproduced"] == 0.0
