"""The progress channel: the graph's nodes say what they are doing, the CLI shows it while it happens.

A node opens a ``stage`` ("tests", "re-run 2/3", "validate", "stress", "model"); inside it, a pytest run
reports its test counter (``watch_tests`` reads the reporting plugin's records as they are written) and
what it waits for (the test that is running). Events go to the run's notifier when it has a
``progress(thread_id, event)`` method (the terminal: a live line with Rich, plain timestamped lines
otherwise), and are dropped by notifiers that only ``post`` lines (chat, whose progress polls run.json).
The current stage lives in a ``ContextVar``: parallel investigations each report their own.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

POLL_SECONDS = 0.5


@dataclass(frozen=True)
class ProgressEvent:
    """One update: ``stage`` (and its step k of K), the test counter n/N, and what it waits for."""

    stage: str
    text: str = ""
    step: int | None = None  # e.g. re-run k of K, stress run i of S
    total: int | None = None
    tests_done: int | None = None
    tests_total: int | None = None
    waits_for: str = ""
    started: float = 0.0  # time.monotonic() when the stage began (elapsed = now - started)
    done: bool = False  # the stage ended

    def describe(self) -> str:
        """One plain line: "re-run 2/3: 4/6 tests, waiting for test_x (12 s)"."""
        step = self.step
        if step is None and self.stage == "stress" and self.total and self.tests_total and self.tests_done is not None:
            step = min(self.total, self.tests_done // max(1, self.tests_total // self.total) + 1)  # one pytest, S runs
        head = self.stage + (f" {step}/{self.total}" if step is not None and self.total else "")
        parts = [head + (f": {self.text}" if self.text else "")]
        if self.tests_done is not None:
            parts.append(f"{self.tests_done}/{self.tests_total or '?'} tests")
        if self.done:
            parts.append("done")
        elif self.waits_for:
            parts.append(f"waiting for {self.waits_for}")
        elapsed = f" ({time.monotonic() - self.started:.0f} s)" if self.started else ""
        return ", ".join(parts) + elapsed


Emit = Callable[[ProgressEvent], None]


class _Stage:
    """An open stage: where its events go and its last event (the counters so far)."""

    def __init__(self, emit: Emit, event: ProgressEvent) -> None:
        self.emit, self.last = emit, event
        self.lock = threading.Lock()

    def update(self, **changes: Any) -> None:
        with self.lock:
            self.last = replace(self.last, **changes)
            event = self.last
        self.emit(event)


_current: ContextVar[_Stage | None] = ContextVar("fixloop_progress", default=None)


@contextmanager
def stage(
    emit: Emit | None,
    name: str,
    text: str = "",
    *,
    step: int | None = None,
    total: int | None = None,
    waits_for: str = "",
) -> Iterator[None]:
    """Announce a stage, make it the current one (a pytest run inside reports into it), announce its end."""
    if emit is None:
        yield
        return
    event = ProgressEvent(stage=name, text=text, step=step, total=total, waits_for=waits_for, started=time.monotonic())
    current = _Stage(emit, event)
    emit(event)
    token = _current.set(current)
    try:
        yield
    finally:
        _current.reset(token)
        current.update(done=True, waits_for="")


def report(**changes: Any) -> None:
    """Update the current stage (no-op outside one)."""
    current = _current.get()
    if current is not None:
        current.update(**changes)


@contextmanager
def watch_tests(report_dir: Path, expected: int | None = None) -> Iterator[None]:
    """While a pytest run writes its records into ``report_dir``, report the test counter and the running
    test to the current stage (nothing outside a stage)."""
    if _current.get() is None:
        yield
        return
    stop = threading.Event()
    current = _current.get()
    assert current is not None

    def poll() -> None:  # in its own thread, reporting into the caller's stage
        seen: tuple[int, int, str] | None = None
        current.update(tests_done=0, tests_total=expected, waits_for="pytest to collect the tests")
        while not stop.wait(POLL_SECONDS):
            counts = read_counts(report_dir)
            if counts != seen:
                seen = counts
                done, total, running = counts
                waits = f"test {running}" if running else ("pytest to exit" if total and done >= total else "")
                waits = waits or ("" if total else "pytest to collect the tests")
                current.update(tests_done=done, tests_total=total or expected, waits_for=waits)

    thread = threading.Thread(target=poll, name="fixloop-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(2 * POLL_SECONDS)
        done, total, _ = read_counts(report_dir)  # the records written since the last poll
        current.update(tests_done=done, tests_total=total or expected, waits_for="")


def read_counts(report_dir: Path, pattern: str = "fixloop-report.jsonl*") -> tuple[int, int, str]:
    """(tests finished, tests collected (0: not known yet), the last test started and not finished)."""
    done, collected = 0, 0
    running: dict[str, None] = {}
    paths = [*sorted(report_dir.glob(pattern)), *sorted(report_dir.glob(f"round-*/{pattern}"))]  # restarts
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line being written
            kind = record.get("type")
            if kind == "start":
                running[record.get("nodeid", "")] = None
            elif kind == "test":
                done += 1
                running.pop(record.get("nodeid", ""), None)
            elif kind == "collected":
                collected = max(collected, len(record.get("nodeids") or []))
    return done, collected, next(reversed(running), "") if running else ""
