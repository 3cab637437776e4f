"""One driver per run, enforced by the database: the run lock on SQLite (flock) and PostgreSQL (advisory lock)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fixloop.run_lock import RunBusyError, is_driven, run_lock
from tests.conftest import SRC
from tests.server.helpers import wait_until

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _spec(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    if backend == "postgres":
        return str(request.getfixturevalue("pg_schema_url"))
    return str(tmp_path / "store" / "checkpoints.sqlite")


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_threads_of_one_process_take_turns(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    spec = _spec(backend, request, tmp_path)
    inside: list[str] = []
    overlaps: list[str] = []

    def decide(name: str) -> None:
        with run_lock("t-turns", spec):
            if inside:
                overlaps.append(f"{name} entered while {inside} held it")
            inside.append(name)
            time.sleep(0.05)
            inside.remove(name)

    threads = [threading.Thread(target=decide, args=(f"d{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []
    assert not is_driven("t-turns", spec)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_held_run_is_busy_for_a_non_waiting_driver_and_other_runs_are_free(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    spec = _spec(backend, request, tmp_path)
    with run_lock("t-held", spec):
        assert is_driven("t-held", spec)
        with (
            pytest.raises(RunBusyError, match="being driven by another fixloop process"),
            run_lock("t-held", spec, wait=0),
        ):
            pass
        with run_lock("t-other", spec, wait=0):
            assert is_driven("t-other", spec)
    assert not is_driven("t-held", spec) and not is_driven("t-other", spec)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_killed_holders_lock_is_free_at_once(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    spec = _spec(backend, request, tmp_path)
    script = (
        "import sys, time\n"
        "from fixloop.run_lock import run_lock\n"
        "with run_lock('t-killed', sys.argv[1]):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(120)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(spec)],
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin", "FIXLOOP_HOME": str(tmp_path)},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert is_driven("t-killed", spec)
        with pytest.raises(RunBusyError), run_lock("t-killed", spec, wait=0.2):
            pass
        holder.kill()  # SIGKILL: no cleanup code runs
        holder.wait()
        wait_until(lambda: not is_driven("t-killed", spec), timeout=10, what="the dead holder's lock to go")
        with run_lock("t-killed", spec, wait=0):
            pass
    finally:
        holder.kill()
        holder.wait()
