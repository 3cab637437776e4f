"""`fixloop verify`: passes on a real run directory, fails on tampered copies with a message naming the fault."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixloop.target import stop_target
from fixloop.verify import junit_key, read_junit, verify_run_dir
from tests.conftest import SRC, CliRunner


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One real `fixloop demo --llm none` run directory, shared by the module's tests."""
    base = tmp_path_factory.mktemp("verify-run")
    out = base / "run"
    env = dict(os.environ)
    env.update(FIXLOOP_HOME=str(base / "home"), PYTHONPATH=str(SRC), OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    env.pop("OPENAI_API_KEY", None)
    proc = subprocess.run(
        [sys.executable, "-m", "fixloop", "demo", "--llm", "none", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    try:
        assert proc.returncode == 0, proc.stderr
        yield out
    finally:
        if (out / "workspace").exists():
            stop_target(out / "workspace")


def _copy(run: Path, dest: Path) -> Path:
    shutil.copytree(run, dest, ignore=shutil.ignore_patterns("workspace"))
    return dest


def _load(out: Path) -> dict[str, Any]:
    return json.loads((out / "run.json").read_text(encoding="utf-8"))


def _save(out: Path, doc: dict[str, Any]) -> None:
    (out / "run.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")


def test_a_real_run_records_every_phase_with_hashed_junit(real_run: Path) -> None:
    doc = _load(real_run)
    phase = doc["phases"][0]
    assert phase["selected"] and phase["collected"] and phase["executed"]
    assert phase["command"][0] == phase["interpreter"]
    assert phase["commit"] and phase["commit"] != "unknown"
    assert phase["health"]["body"]["revision"] == phase["commit"]  # /health reported the tested commit
    assert phase["started_at"] < phase["finished_at"]
    junit = next(a for a in phase["artifacts"] if a["kind"] == "junit-xml")
    assert junit in doc["artifacts"]
    cases = read_junit(real_run / junit["path"])
    assert {junit_key(n) for n in phase["collected"]} == set(cases)
    kinds = {a["kind"] for a in doc["artifacts"]}
    assert {"junit-xml", "pytest-output", "evidence"} <= kinds


def test_verify_passes_on_the_real_run(real_run: Path, run_cli: CliRunner) -> None:
    proc = run_cli("verify", str(real_run))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "matches its record" in proc.stdout
    report = verify_run_dir(real_run)
    assert report.ok and len(report.checked) == 4


def test_an_edited_result_fails_verify(real_run: Path, tmp_path: Path, run_cli: CliRunner) -> None:
    out = _copy(real_run, tmp_path / "edited")
    doc = _load(out)
    iteration = doc["iterations"][0]
    victim = next(r for r in iteration["results"] if r["outcome"] == "failed")
    victim["outcome"] = "passed"  # claim a failing test passed, counts and phase record made to agree
    iteration["counts"] = {"passed": iteration["counts"]["passed"] + 1, "failed": iteration["counts"]["failed"] - 1}
    doc["phases"][0]["outcomes"][victim["nodeid"]] = "passed"
    _save(out, doc)
    proc = run_cli("verify", str(out))
    assert proc.returncode != 0
    assert f"{victim['nodeid']} recorded passed but the JUnit XML says failure" in proc.stdout
    assert "Traceback" not in proc.stderr and "fixloop: error:" in proc.stderr


def test_a_skipped_test_counted_as_passed_fails_verify(real_run: Path, tmp_path: Path) -> None:
    out = _copy(real_run, tmp_path / "skipped")
    doc = _load(out)
    phase = doc["phases"][0]
    ghost = "tests/e2e/staging/test_ghost.py::test_never_ran"
    phase["outcomes"][ghost] = "passed"
    phase["collected"].append(ghost)
    phase["executed"].append(ghost)
    _save(out, doc)
    problems = verify_run_dir(out).problems
    assert any(f"{ghost} recorded passed but is not in the JUnit XML" in p for p in problems)


def test_a_deleted_artifact_fails_verify(real_run: Path, tmp_path: Path, run_cli: CliRunner) -> None:
    out = _copy(real_run, tmp_path / "deleted")
    (out / "artifacts" / "iter-1-junit.xml").unlink()
    proc = run_cli("verify", str(out))
    assert proc.returncode != 0
    assert "artifact artifacts/iter-1-junit.xml is missing" in proc.stdout


def test_a_modified_artifact_fails_verify(real_run: Path, tmp_path: Path) -> None:
    out = _copy(real_run, tmp_path / "modified")
    junit = out / "artifacts" / "iter-1-junit.xml"
    junit.write_text(junit.read_text(encoding="utf-8").replace("<failure", "<skipped"), encoding="utf-8")
    problems = verify_run_dir(out).problems
    assert "artifact artifacts/iter-1-junit.xml was modified (SHA-256 differs from run.json)" in problems


def test_a_citation_to_missing_evidence_fails_verify(real_run: Path, tmp_path: Path, run_cli: CliRunner) -> None:
    out = _copy(real_run, tmp_path / "citation")
    doc = _load(out)
    category = doc["iterations"][0]["categories"][0]
    category["five_whys"]["steps"][2]["evidence"] = ["E999"]
    _save(out, doc)
    proc = run_cli("verify", str(out))
    assert proc.returncode != 0
    assert f"category {category['id']}: why #3 cites E999, which is not in its evidence" in proc.stdout


def test_a_folder_without_a_record_is_a_clear_error(tmp_path: Path, run_cli: CliRunner) -> None:
    proc = run_cli("verify", str(tmp_path))
    assert proc.returncode != 0
    assert "has no run.json" in proc.stderr and "Traceback" not in proc.stderr


def test_a_claim_its_citations_do_not_show_fails_verify(real_run: Path, tmp_path: Path, run_cli: CliRunner) -> None:
    """Issue 15, reproduction 4: a step claiming "KeyError: 'user_id'" resolved its citation to an item that did
    not say so, and verify passed it."""
    out = _copy(real_run, tmp_path / "claim")
    doc = _load(out)
    category = doc["iterations"][0]["categories"][0]
    step = category["five_whys"]["steps"][0]
    step["answer"] = "The handler raised ZeroDivisionError on 'no_such_value_xyz' in nowhere_module.py (HTTP 418)."
    _save(out, doc)
    proc = run_cli("verify", str(out))
    assert proc.returncode != 0
    expected = "step 1 claims ZeroDivisionError, HTTP 418, 'no_such_value_xyz', file nowhere_module.py"
    assert expected in proc.stdout, proc.stdout
