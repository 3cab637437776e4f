"""Run eval jobs in parallel worker processes, each job with its own ``FIXLOOP_HOME``.

A job is a module-level function and its picklable arguments. Workers are spawned (no forked
LangGraph or HTTP state) and replaced after every job (``max_tasks_per_child=1``), so a job's
environment, servers and stray threads die with its process. Each job's target picks its own free
port; each job sets ``FIXLOOP_HOME`` to its own folder so run stores, remotes and worktrees never mix.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fixloop.errors import UsageError

DEFAULT_WORKERS = 2


@dataclass
class Job:
    """``function(*args)`` run with ``FIXLOOP_HOME=home``; ``key`` names it in the results."""

    key: str
    function: Callable[..., Any]
    home: Path
    args: tuple[Any, ...] = field(default_factory=tuple)


def run_with_home(home: str, function: Callable[..., Any], *args: Any) -> Any:
    """In the worker: give this job its own ``FIXLOOP_HOME``, then run it."""
    Path(home).mkdir(parents=True, exist_ok=True)
    os.environ["FIXLOOP_HOME"] = home
    if multiprocessing.parent_process() is not None:  # a worker: a stop signal stops its targets and pytest
        from fixloop.cleanup import install_stop_handlers

        install_stop_handlers()
    return function(*args)


def run_jobs(jobs: Sequence[Job], *, workers: int = DEFAULT_WORKERS) -> Iterator[tuple[str, Any]]:
    """Yield ``(key, result)`` as jobs finish (the exception, when a job or its worker died); with one
    worker, run them in this process, in order."""
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, not {workers}")
    if workers == 1:
        saved = os.environ.get("FIXLOOP_HOME")
        try:
            for job in jobs:
                try:
                    result = run_with_home(str(job.home), job.function, *job.args)
                except Exception as exc:
                    result = exc
                yield job.key, result
        finally:
            _restore_home(saved)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, max_tasks_per_child=1) as pool:
        futures: dict[Future[Any], str] = {
            pool.submit(run_with_home, str(job.home), job.function, *job.args): job.key for job in jobs
        }
        try:
            for future in as_completed(futures):
                try:
                    result = future.result()
                except Exception as exc:  # a dead worker is one failed job, not a failed eval
                    result = exc
                yield futures[future], result
        except BaseException:  # interrupted: each worker stops its own targets and pytest (SIGTERM handler)
            pool.shutdown(wait=False, cancel_futures=True)
            _stop_workers()
            raise


def _stop_workers(grace: float = 30.0) -> None:
    """SIGTERM every worker process (they clean up, then exit), SIGKILL those still there after ``grace``."""
    workers = multiprocessing.active_children()
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.join(grace)
        if worker.is_alive():
            worker.kill()


def _restore_home(saved: str | None) -> None:
    if saved is None:
        os.environ.pop("FIXLOOP_HOME", None)
    else:
        os.environ["FIXLOOP_HOME"] = saved
