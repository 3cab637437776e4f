"""``fixloop status``: the runs as a table with a header, filtered by who asked and whether they are active."""

from __future__ import annotations

from pathlib import Path

from fixloop.checkpoints import RunEntry, open_store, record_run
from fixloop.run_listing import filter_runs, render_table
from tests.conftest import CliRunner

RUNS = [
    {"thread_id": "fl-1", "status": "running", "requested_by": "alice", "focus": "websockets"},
    {"thread_id": "fl-2", "status": "awaiting_approval", "requested_by": "bob", "focus": "auth"},
    {"thread_id": "fl-3", "status": "green", "requested_by": "alice", "focus": "websockets"},
]


def test_filters_by_requester_and_activity() -> None:
    assert [r["thread_id"] for r in filter_runs(RUNS, by="alice")] == ["fl-1", "fl-3"]
    assert [r["thread_id"] for r in filter_runs(RUNS, active=True)] == ["fl-1", "fl-2"]
    assert [r["thread_id"] for r in filter_runs(RUNS, by="alice", active=True)] == ["fl-1"]
    assert filter_runs(RUNS, by="carol") == []


def test_the_table_has_a_header_and_aligned_columns() -> None:
    header, *rows = render_table(RUNS)
    assert header.split() == ["THREAD", "STATUS", "BY", "UPDATED", "FOCUS", "OUT"]
    assert len(rows) == 3
    assert {row.index("alice" if "alice" in row else "bob") for row in rows} == {header.index("BY")}
    assert rows[0].split()[3] == "-"  # a missing cell shows as "-", not as an empty gap


def test_status_lists_mine_and_active_runs(run_cli: CliRunner, tmp_path: Path) -> None:
    with open_store(None) as store:
        for run in RUNS:
            entry = RunEntry(
                thread_id=run["thread_id"],
                focus=run["focus"],
                status=run["status"],
                requested_by=run["requested_by"],
                repo=str(tmp_path),
                out_dir=str(tmp_path / run["thread_id"]),
            )
            record_run(entry, store)
    everything = run_cli("status").stdout.splitlines()
    assert everything[0].startswith("THREAD") and len(everything) == 4
    mine = run_cli("status", "--mine", env={"USER": "alice"}).stdout.splitlines()
    assert sorted(line.split()[0] for line in mine[1:]) == ["fl-1", "fl-3"]
    active = run_cli("status", "--active", "--by", "bob").stdout.splitlines()
    assert [line.split()[0] for line in active[1:]] == ["fl-2"]
    none = run_cli("status", "--mine", "--active", env={"USER": "carol"})
    assert none.returncode == 0 and none.stdout.strip() == "no run requested by carol and active"
