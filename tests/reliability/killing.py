"""kill -9 a real ``fixloop`` process at a chosen node, seen from outside through its SQLite checkpointer.

LangGraph writes ``branch:to:<node>`` for the next node when a node finishes, then the next checkpoint
(``durability="sync"``), in the parent graph and in every investigation subgraph alike; once both are
saved the process is running ``node``, and a SIGKILL then lands in that node (or, for a very short node,
just after it: either way the run has to resume from a checkpoint).
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import cli_env


def fixloop_process(*args: str, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``python -m fixloop ARGS`` importing the code under test, output appended to ``log``."""
    full_env = cli_env(env)
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ fixloop {' '.join(args)}\n")
        out.flush()
        return subprocess.Popen(
            [sys.executable, "-m", "fixloop", *args], stdout=out, stderr=subprocess.STDOUT, text=True, env=full_env
        )


_ROUTED = """
SELECT COUNT(DISTINCT w.checkpoint_ns || w.checkpoint_id || w.task_id) FROM writes w
JOIN checkpoints c ON c.thread_id = w.thread_id AND c.checkpoint_ns = w.checkpoint_ns
 AND c.parent_checkpoint_id = w.checkpoint_id
WHERE w.channel = ?
"""


def branch_writes(db: Path, node: str) -> int:
    """How many times the run in ``db`` was routed to ``node`` (parent graph and subgraphs), counting a
    routing once the checkpoint after it is saved: the process is then inside ``node``. (Between a step's
    writes and the next checkpoint a killed run cannot be resumed: see bugs_found.py.)"""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute(_ROUTED, (f"branch:to:{node}",)).fetchone()
    except sqlite3.OperationalError:  # the tables are not there yet
        return 0
    return int(row[0])


def thread_of(db: Path) -> str:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        row = conn.execute("SELECT thread_id FROM checkpoints LIMIT 1").fetchone()
    return str(row[0])


@dataclass
class Kill:
    node: str
    seen_before: int = 0  # writes routing to ``node`` before the process was started: wait for a new one
    landed: bool = False  # False: the process ended before the run reached the node


def _kill_when(
    proc: subprocess.Popen[str], reached: Callable[[], bool], kill: Kill, *, timeout: float, waiting_for: str
) -> Kill:
    """SIGKILL ``proc`` as soon as ``reached()``; ``kill.landed`` says whether it died of it (not on its own)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if reached():
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
            kill.landed = proc.returncode == -signal.SIGKILL
            return kill
        if proc.poll() is not None:
            return kill
        time.sleep(0.01)
    proc.kill()
    proc.wait(timeout=60)
    raise AssertionError(f"{waiting_for} in {timeout:.0f} s")


def kill_at(proc: subprocess.Popen[str], db: Path, kill: Kill, *, timeout: float = 600.0) -> Kill:
    """Wait until ``proc`` routes the run to ``kill.node`` (a write beyond ``kill.seen_before``), then SIGKILL it."""
    return _kill_when(
        proc, lambda: branch_writes(db, kill.node) > kill.seen_before, kill,
        timeout=timeout, waiting_for=f"the run never reached {kill.node}",
    )  # fmt: skip


RESUMING = "resuming run "  # the line ``fixloop resume`` prints once the run is loaded and about to go on


def resumed_lines(log: Path) -> int:
    return log.read_text(encoding="utf-8").count(RESUMING) if log.exists() else 0


def kill_on_resume(proc: subprocess.Popen[str], log: Path, kill: Kill, lines_before: int, timeout: float = 600) -> Kill:
    """SIGKILL ``proc`` (a ``fixloop resume``) as soon as it announces that it goes on: for a node the killed
    process had already routed to, the resumed one starts right in it."""
    return _kill_when(
        proc, lambda: resumed_lines(log) > lines_before, kill,
        timeout=timeout, waiting_for="the resumed run never announced itself",
    )  # fmt: skip
