"""The loop on library code (no service, no log backend): its investigation ranks with the coverage spectrum,
as ``fixloop triage`` does, so a wrong value raised nowhere near the assertion still names its function."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import CliRunner
from tests.tools.library_repo import WRONG_VALUE, make_library


def test_the_loops_investigation_ranks_the_faulty_function_first_with_its_coverage_reason(
    run_cli: CliRunner, tmp_path: Path
) -> None:
    root = make_library(tmp_path / "lib", WRONG_VALUE)
    out = tmp_path / "out"
    proc = run_cli("run", "--repo", str(root), "--focus", "amount", "--llm", "none", "--out", str(out))
    assert proc.returncode == 11, proc.stderr[-3000:]  # diagnosed (no model)
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    (category,) = run["iterations"][0]["categories"]
    top = category["evidence"]["locations"][0]
    assert (top["file"], top["function"]) == ("ledger/parsing.py", "parse_amount")
    assert any(r.startswith("executed by 1/1 failing and ") for r in top["reasons"]), top["reasons"]
    assert "coverage: " in proc.stderr  # the re-run announced itself as a stage


def test_without_the_spectrum_the_reason_is_absent(run_cli: CliRunner, tmp_path: Path) -> None:
    """The control: with ``tests.spectrum`` off, no location claims coverage (the reason above is measured)."""
    root = make_library(tmp_path / "lib", WRONG_VALUE)
    out = tmp_path / "out"
    proc = run_cli(
        "run", "--repo", str(root), "--focus", "amount", "--llm", "none", "--out", str(out),
        env={"FIXLOOP_TESTS__SPECTRUM": "false"},
    )  # fmt: skip
    assert proc.returncode == 11, proc.stderr[-3000:]
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    (category,) = run["iterations"][0]["categories"]
    reasons = [r for loc in category["evidence"]["locations"] for r in loc["reasons"]]
    assert reasons and not any(r.startswith("executed by") for r in reasons)
