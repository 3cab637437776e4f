"""Bugs the reliability suite found in code it does not own: each test here FAILS on the code as it is.

Not collected by the normal run (the file name does not start with ``test_``); run it on purpose:

    /work/venv/bin/python -m pytest tests/reliability/bugs_found.py -p no:cacheprovider

Move a test into the suite once its bug is fixed (see tests/reliability/README.md).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from fixloop.target import stop_target
from tests.conftest import CliRunner
from tests.reliability.killing import thread_of


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_run_killed_between_a_steps_writes_and_the_next_checkpoint_is_resumed(
    run_cli: CliRunner, tmp_path: Path
) -> None:
    """runs.resume_run: a process killed after a node's writes are saved but before the next checkpoint leaves
    ``snapshot.next == ()`` (the finished task and its result are only in ``snapshot.tasks``); ``resume`` takes
    that for "nothing to do", prints RUNNING and exits 0, and the run is stuck for good. (Seen from outside:
    SIGKILL right after ``branch:to:<node>`` lands, e.g. at intake or run_tests.) Made deterministic here by
    cutting a finished run's checkpoints back to that moment: after ``select``'s writes, before step 2."""
    out = tmp_path / "out"
    db = tmp_path / "checkpoints.sqlite"
    done = run_cli("demo", "--scenario", "handshake-500", "--llm", "none", "--out", str(out), "--checkpointer", str(db))
    assert done.returncode == 0, done.stderr[-2000:]
    thread = thread_of(db)
    with sqlite3.connect(db) as conn:
        kept = [
            row[0]
            for row in conn.execute(
                "SELECT checkpoint_id FROM checkpoints WHERE checkpoint_ns = '' ORDER BY checkpoint_id"
            ).fetchall()
        ][:3]  # input (-1), after intake (0), after select's routing was decided (1)
        conn.execute(f"DELETE FROM checkpoints WHERE checkpoint_id NOT IN ({','.join('?' * len(kept))})", kept)
        conn.execute(f"DELETE FROM writes WHERE checkpoint_id NOT IN ({','.join('?' * len(kept))})", kept)
    resumed = run_cli("resume", thread, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    status = json.loads(run_cli("status", thread, "--json").stdout)["status"]
    stop_target(out / "workspace")
    assert status == "diagnosed", f"resume left the run {status}: {resumed.stdout[-600:]}"
