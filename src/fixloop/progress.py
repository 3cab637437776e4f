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

    reader = ReportReader(report_dir)

    def poll() -> None:  # in its own thread, reporting into the caller's stage
        seen: tuple[int, int, str] | None = None
        current.update(tests_done=0, tests_total=expected, waits_for="pytest to collect the tests")
        while not stop.wait(POLL_SECONDS):
            counts = reader.read()
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
        done, total, _ = reader.read()  # the records written since the last poll (the poller has stopped)
        current.update(tests_done=done, tests_total=total or expected, waits_for="")


def read_counts(report_dir: Path) -> tuple[int, int, str]:
    """(tests finished, tests collected (0: not known yet), the last test started and not finished)."""
    return ReportReader(report_dir).read()


class ReportReader:
    """Reads the plugin's records as they are appended (each file from where the last read stopped, so a
    long run is not read again every poll); only whole lines count."""

    PATTERN = "fixloop-report.jsonl*"

    def __init__(self, report_dir: Path) -> None:
        self.report_dir = report_dir
        self.offsets: dict[Path, int] = {}
        self.done, self.collected = 0, 0
        self.running: dict[str, None] = {}
        self.lock = threading.Lock()  # the poller and the final read of ``watch_tests``

    def read(self) -> tuple[int, int, str]:
        with self.lock:
            return self._read()

    def _read(self) -> tuple[int, int, str]:
        pattern = self.PATTERN
        paths = [*sorted(self.report_dir.glob(pattern)), *sorted(self.report_dir.glob(f"round-*/{pattern}"))]
        for path in paths:  # the first round's files, then a restart's
            self._read_new(path)
        return self.done, self.collected, next(reversed(self.running), "") if self.running else ""

    def _read_new(self, path: Path) -> None:
        try:
            with path.open("rb") as handle:
                handle.seek(self.offsets.get(path, 0))
                chunk = handle.read()
        except OSError:
            return
        whole = chunk[: chunk.rfind(b"\n") + 1]  # a line being written waits for the next read
        self.offsets[path] = self.offsets.get(path, 0) + len(whole)
        for line in whole.decode("utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            kind = record.get("type")
            if kind == "start":
                self.running[record.get("nodeid", "")] = None
            elif kind == "test":
                self.done += 1
                self.running.pop(record.get("nodeid", ""), None)
            elif kind == "collected":
                self.collected = max(self.collected, len(record.get("nodeids") or []))
