"""The real suite's fix stage on one small case (hyperframe from PyPI): the loop to the approval point.

``--llm scripted`` replays the undo of the case's own fault (labelled so): the patch must be validated by
the loop, pass the project's selected tests in a worktree, touch the root-cause function and pass the
SSOT audit, and the run must stop at the approval point. ``--llm none`` diagnoses and proposes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixloop.evaluation.real.fix import evaluate_real_fix_case
from fixloop.evaluation.real.recipes import load_projects, select_cases
from tests.evaluation.real.conftest import CASE, RealEvalCli


@pytest.mark.slow
def test_one_real_case_to_the_approval_point_scripted_then_without_a_model(
    real_eval_cli: RealEvalCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    proc = real_eval_cli("--stage", "fix", "--llm", "scripted")
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result["stage"] == "fix" and result["llm"] == "scripted" and "not a model" in result["note"]
    (row,) = result["rows"]
    assert row["error"] == "", row["error"]
    assert row["reproduced"] and row["status"] == "awaiting_approval", row["outcome"]
    assert row["patch_proposed"] and row["files_touched"] == ["src/hyperframe/frame.py"]
    assert row["fault_tests_pass"] is True and row["fault_tests_validated"] == row["fault_tests"] >= 1
    assert row["selected_pass"] is True and row["selected"] > row["fault_tests"], row["selected_failing"]
    assert row["touches_file"] and row["touches_function"], row["functions_touched"]
    assert "src/hyperframe/frame.py:SettingsFrame.parse_body" in row["functions_touched"]
    assert row["audit"] == "pass"
    assert result["totals"]["patch_proposed"] == 1.0 and result["totals"]["scored"] == 1.0

    monkeypatch.setenv("FIXLOOP_HOME", str(home / "none"))  # the venv cache stays where it was built
    ((project, case),) = select_cases(load_projects(), CASE)
    none = evaluate_real_fix_case(project, case, tmp_path / "none", home / "real", "none")
    assert none.error == "" and none.reproduced
    assert none.status == "diagnosed" and not none.patch_proposed
    assert none.fault_tests_pass is None and none.selected_pass is None and none.audit == ""
