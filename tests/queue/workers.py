"""Real ``fixloop worker`` processes on a PostgreSQL schema, and what their logs and the queue say."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from fixloop.queue.tasks import TAKEN
from tests.conftest import cli_env

HEARTBEAT = "0.5"  # short beats: a dead worker is noticed in seconds, not procrastinate's default 30 s
STALLED_AFTER = "3"


def start_worker(
    url: str, log: Path, *, concurrency: int = 1, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    args = ["worker", "--checkpointer", url, "--concurrency", str(concurrency),
            "--heartbeat", HEARTBEAT, "--stalled-after", STALLED_AFTER, "--name", log.stem]  # fmt: skip
    with log.open("a", encoding="utf-8") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "fixloop", *args], stdout=out, stderr=subprocess.STDOUT, text=True, env=cli_env(env)
        )


@contextmanager
def workers(url: str, folder: Path, count: int, **kwargs: Any) -> Iterator[list[tuple[subprocess.Popen[str], Path]]]:
    """``count`` workers, logs in ``folder/worker-<i>.log``; stopped (SIGTERM, then SIGKILL) afterwards."""
    started = []
    try:
        for index in range(count):
            log = folder / f"worker-{index}.log"
            started.append((start_worker(url, log, **kwargs), log))
        yield started
    finally:
        for proc, _ in started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _ in started:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=20)


def took(log: Path, job_id: int) -> int:
    """How many times the worker writing ``log`` took job ``job_id``."""
    text = log.read_text(encoding="utf-8") if log.exists() else ""
    return text.count(f"{TAKEN} {job_id}:")


def wait_until(
    check: Callable[[], Any], *, timeout: float, what: str, every: float = 0.1, logs: list[Path] | None = None
) -> Any:
    """``check()``'s first true value; on time out an AssertionError with the tail of each of ``logs``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    tails = "".join(f"\n--- {log.name}\n{log.read_text()[-2000:]}" for log in logs or [] if log.exists())
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{tails}")


def queued_job(stdout: str) -> tuple[str, int]:
    """(thread id, job id) from the CLI's ``queued: ... of run T as job N ...`` line."""
    for line in stdout.splitlines():
        if line.startswith("queued:"):
            words = line.split()
            return words[words.index("run") + 1], int(words[words.index("job") + 1])
    raise AssertionError(f"no queued line in {stdout!r}")


def run_status(url: str, thread_id: str) -> str | None:
    """The run's status in the index (None until a worker has started it)."""
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            row = conn.execute("SELECT status FROM fixloop_runs WHERE thread_id = %s", (thread_id,)).fetchone()
        except psycopg.errors.UndefinedTable:
            return None
    return None if row is None else str(row[0])
