"""The loop runs in phases: P1 first, the next tier once the current phase holds its tolerance (or all at
once with --all-tiers); the worklog says which phase ran. Real runs of `fixloop run --llm none`."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import CliRunner
from tests.graphs.conftest import read_run
from tests.tools.conftest import write_files

SUITE = {
    "tests/TEST_INDEX.md": """
        # Ledger Test Index

        | Priority | File | Tests | Business Impact |
        |----------|------|-------|-----------------|
        | **P1 Critical** | `tests/test_ledger_core.py` | 2 | Balances |
        | **P2 High** | `tests/test_ledger_more.py` | 1 | Reports |

        ### Success Criteria
        - All P1 tests must pass (0% failure tolerance)
        - P2 tests: <5% failure rate
    """,
    "tests/test_ledger_core.py": """
        def test_ledger_balance():
            assert 1 + 1 == 2


        def test_ledger_total():
            assert sum([1, 2]) == 3
    """,
    "tests/test_ledger_more.py": """
        def test_ledger_report_rounding():
            assert round(2.675, 2) == 2.68
    """,
}


def _repo(root: Path) -> Path:
    write_files(root, SUITE)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@e.com", "commit", "-qm", "init"], check=True
    )
    return root


def test_p1_runs_first_then_the_loop_widens_to_p2_when_p1_holds(run_cli: CliRunner, tmp_path: Path) -> None:
    repo, out = _repo(tmp_path / "repo"), tmp_path / "out"
    proc = run_cli("run", "--repo", str(repo), "--focus", "ledger", "--llm", "none", "--out", str(out))
    run = read_run(out)
    assert run["iterations"][0]["tiers_run"] == [1, 2], proc.stdout + proc.stderr
    texts = [e["text"] for e in run["events"]]
    assert any(t.startswith("phase P1: ran") for t in texts)
    assert "phase P1 holds its tolerance: widening to P1-P2" in texts
    assert any(t.startswith("phase P1-P2: ran") for t in texts)
    failing = [t for c in run["iterations"][0]["categories"] for t in c["tests"]]
    assert failing == ["tests/test_ledger_more.py::test_ledger_report_rounding"]  # found by the wider phase
    assert ", phase P1-P2:" in (out / "worklog.md").read_text(encoding="utf-8")


def test_all_tiers_runs_every_tier_at_once(run_cli: CliRunner, tmp_path: Path) -> None:
    repo, out = _repo(tmp_path / "repo"), tmp_path / "out"
    run_cli("run", "--repo", str(repo), "--focus", "ledger", "--llm", "none", "--all-tiers", "--out", str(out))
    run = read_run(out)
    texts = [e["text"] for e in run["events"]]
    assert run["iterations"][0]["tiers_run"] == [1, 2]
    assert not any("widening" in t for t in texts) and any(t.startswith("phase P1-P2: ran") for t in texts)
