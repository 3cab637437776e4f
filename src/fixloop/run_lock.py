"""One driver per run, enforced by the database: a lock on the run's thread id.

- PostgreSQL checkpointer: a session-level advisory lock (``pg_try_advisory_lock``) on a
  key derived from the schema and the thread id, held on its own connection while the run is
  driven. PostgreSQL releases it when that connection ends, so a killed process (even with
  SIGKILL, on any machine) never leaves a stale lock behind.
- SQLite (the single-machine default): an exclusive ``flock`` on a file beside the checkpoint
  store. ``flock`` locks belong to an open file, so two threads of one process exclude each
  other as two processes do; the kernel drops the lock when its holder dies.

``run_lock(..., wait=None)`` waits until the lock is free (decisions are applied one after the
other), ``wait=0`` fails at once with ``RunBusyError`` (a manual ``resume`` of a run another
process drives). ``is_driven`` asks, without waiting, whether some process holds the lock now.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fixloop.errors import UsageError
from fixloop.paths import fixloop_home
from fixloop.postgres import connect_postgres, is_postgres

POLL_SECONDS = 0.05
LOCKS_DIR = "run-locks"


class RunBusyError(UsageError):
    """Another live process is driving this run."""


def lock_dir(spec: str | None) -> Path:
    """Where the SQLite store's lock files live: beside the checkpoint file."""
    base = Path(spec).expanduser().parent if spec else fixloop_home()
    return base / LOCKS_DIR


def _lock_file(spec: str | None, thread_id: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in thread_id)[:80]
    digest = hashlib.sha256(thread_id.encode()).hexdigest()[:12]  # two ids made equal by `safe` stay apart
    return lock_dir(spec) / f"{safe}-{digest}.lock"


class _FileLock:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def try_acquire(self) -> bool:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)

    def close(self) -> None:
        os.close(self._fd)


_KEY_SQL = "hashtextextended(current_schema() || ':fixloop-run:' || %s, 0)"


class _PgLock:
    def __init__(self, url: str, thread_id: str) -> None:
        self._conn: Any = connect_postgres(url)
        self.thread_id = thread_id

    def try_acquire(self) -> bool:
        row = self._conn.execute(f"SELECT pg_try_advisory_lock({_KEY_SQL})", (self.thread_id,)).fetchone()
        return bool(row[0])

    def release(self) -> None:
        try:
            self._conn.execute(f"SELECT pg_advisory_unlock({_KEY_SQL})", (self.thread_id,))
        finally:
            self._conn.close()

    def close(self) -> None:
        self._conn.close()


def _lock(spec: str | None, thread_id: str) -> _FileLock | _PgLock:
    if is_postgres(spec):
        assert spec is not None
        return _PgLock(spec, thread_id)
    return _FileLock(_lock_file(spec, thread_id))


@contextmanager
def run_lock(thread_id: str, spec: str | None, *, wait: float | None = None) -> Iterator[None]:
    """Hold the run's lock for the block; wait up to ``wait`` seconds for it (None: as long as it takes)."""
    lock = _lock(spec, thread_id)
    deadline = None if wait is None else time.monotonic() + wait
    try:
        while not lock.try_acquire():
            if deadline is not None and time.monotonic() >= deadline:
                raise RunBusyError(
                    f"run {thread_id} is being driven by another fixloop process",
                    hint="wait for it to finish or to reach the approval, then try again",
                )
            time.sleep(POLL_SECONDS)
    except BaseException:
        lock.close()
        raise
    try:
        yield
    finally:
        lock.release()


def is_driven(thread_id: str, spec: str | None) -> bool:
    """Whether some live process (this one included) holds ``thread_id``'s lock right now."""
    lock = _lock(spec, thread_id)
    if lock.try_acquire():
        lock.release()
        return False
    lock.close()
    return True
