"""fixloop's pytest reporting plugin: one JSON line per test, written inside the target's interpreter.

Standalone on purpose: it imports nothing from fixloop, so it loads in any environment with
``PYTHONPATH=<this folder> python -m pytest -p fixloop_report``. Settings come from env vars:

- ``FIXLOOP_REPORT_FILE``: the JSON-lines file to append to (xdist workers add ``.<worker id>``);
- ``FIXLOOP_TEST_TIMEOUT``: seconds per test. pytest-timeout enforces it when installed (fixloop
  sets ``PYTEST_TIMEOUT`` too); otherwise this plugin does, with SIGALRM, after dumping every
  thread's stack with ``faulthandler``;
- ``FIXLOOP_HANG_GRACE``: seconds a test phase may outlive its timeout before the watchdog thread
  (``_Watchdog``) records the test as a timeout with every thread's and asyncio task's stack and ends
  this process (``os._exit``): the in-process timeout cannot stop a test that swallows its exception
  (an asyncio task, an ``except BaseException`` loop) or waits in C code. fixloop then starts a new
  pytest for the tests this one had not reached.

Each line is ``{"type": "session"|"collected"|"start"|"test"|"collect_error"|"end", ...}``. A ``start``
without its ``test`` line means the process died during that test; no ``end`` line, that it died
before its session finished. A ``test`` line with ``"watchdog": true`` was written by the watchdog.
"""

from __future__ import annotations

import faulthandler
import functools
import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Generator
from typing import Any

import pytest

# The watchdog's clocks: a test that freezes time (freezegun replaces ``time.time``/``time.monotonic`` and
# every module attribute bound to them) must not make a test look hung; a partial keeps the real function.
_monotonic = functools.partial(time.monotonic)
_wall = functools.partial(time.time)

REPORT_ENV = "FIXLOOP_REPORT_FILE"
TIMEOUT_ENV = "FIXLOOP_TEST_TIMEOUT"
GRACE_ENV = "FIXLOOP_HANG_GRACE"
TIMEOUT_TEXT = "Timeout: test exceeded {seconds:g} s (fixloop_report)"
WATCHDOG_TEXT = (
    "Timeout: test still running {elapsed:.1f} s into its {phase} phase, over its {seconds:g} s limit"
    " (the timeout did not stop it: swallowed, or a wait in C code or another thread);"
    " fixloop's watchdog dumped every stack and ended the pytest process"
)
WATCHDOG_EXIT = 86  # os._exit status of a process ended by the watchdog (fixloop reads the report, not this)
DEFAULT_GRACE = 3.0


class _Connections:
    """Counts the (host, port) pairs the current test connects to, across threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current: dict[tuple[str, int], int] = {}
        self.original_connect = socket.socket.connect
        self.original_connect_ex = socket.socket.connect_ex

    def note(self, sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple) and len(address) >= 2:
            key = (str(address[0]), int(address[1]))
            with self.lock:
                self.current[key] = self.current.get(key, 0) + 1

    def install(self) -> None:
        tracker = self
        original_connect = self.original_connect
        original_connect_ex = self.original_connect_ex

        def connect(sock: socket.socket, address: Any) -> None:
            tracker.note(sock, address)
            return original_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            tracker.note(sock, address)
            return original_connect_ex(sock, address)

        socket.socket.connect = connect  # type: ignore[method-assign, assignment]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign, assignment]

    def uninstall(self) -> None:
        socket.socket.connect = self.original_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = self.original_connect_ex  # type: ignore[method-assign]

    def take(self) -> list[dict[str, Any]]:
        with self.lock:
            out = [{"host": h, "port": p, "count": c} for (h, p), c in sorted(self.current.items())]
            self.current = {}
        return out


class _TestTimeout(BaseException):
    """Raised into a hung test by the SIGALRM fallback (BaseException: tests rarely swallow it)."""


class FixloopReporter:
    def __init__(self, config: pytest.Config, path: str) -> None:
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        self.path = f"{path}.{worker}" if worker else path
        # owner-only: it holds what the tests print until fixloop redacts it at the run's end
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.file = os.fdopen(fd, "a", encoding="utf-8")
        self.write_lock = threading.Lock()  # the watchdog thread writes too
        self.connections = _Connections()
        self.connections.install()
        self.phases: dict[str, list[Any]] = {}
        self.markers: dict[str, list[str]] = {}
        self.timeout = float(os.environ.get(TIMEOUT_ENV) or 0)
        self.own_timeout = (
            self.timeout > 0 and not config.pluginmanager.hasplugin("timeout") and hasattr(signal, "SIGALRM")
        )
        self.dump_file = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed at unconfigure
        self.timed_out: set[str] = set()
        self.write({"type": "session", "rootdir": str(config.rootpath), "pid": os.getpid(), "worker": worker or ""})
        self.watchdog = _Watchdog(self, config, float(os.environ.get(GRACE_ENV) or DEFAULT_GRACE))
        if self.timeout > 0:
            self.watchdog.start()

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, default=str) + "\n"
        with self.write_lock:
            if not self.file.closed:
                self.file.write(line)
                self.file.flush()

    def close(self) -> None:
        self.watchdog.stop()
        self.connections.uninstall()
        self.file.close()
        self.dump_file.close()

    # ------------------------------------------------------------ hooks

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
        self.markers[item.nodeid] = sorted({m.name for m in item.iter_markers()})
        self.connections.take()
        self.write({"type": "start", "nodeid": item.nodeid, "at": time.time()})
        try:
            yield
        finally:
            self.watchdog.disarm()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.watchdog.arm(item, "setup")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        self.watchdog.arm(item, "call")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        self.watchdog.arm(item, "teardown")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.write({"type": "collected", "nodeids": [item.nodeid for item in session.items]})

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.write({"type": "end", "exitstatus": int(exitstatus)})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.phases.setdefault(report.nodeid, []).append(report)
        if report.when == "teardown":
            self._emit(report.nodeid)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.write({"type": "collect_error", "nodeid": report.nodeid, "longrepr": str(report.longrepr)})

    # ------------------------------------------------------------ one record per test

    def _emit(self, nodeid: str) -> None:
        reports = self.phases.pop(nodeid, [])
        if not reports:
            return
        outcome, phase, decisive = _outcome(reports)
        longrepr = "" if decisive is None or decisive.longrepr is None else _longrepr_text(decisive)
        skip_reason = ""
        if outcome == "skipped" and decisive is not None:
            raw = decisive.longrepr
            skip_reason = str(raw[2]) if isinstance(raw, tuple) and len(raw) == 3 else longrepr
            if skip_reason.startswith("Skipped: "):
                skip_reason = skip_reason[len("Skipped: ") :]
        if outcome == "xfailed" and decisive is not None:
            skip_reason = str(getattr(decisive, "wasxfail", ""))
        if nodeid in self.timed_out and TIMEOUT_TEXT.split(":")[0] not in longrepr:
            longrepr = f"{longrepr}\n{TIMEOUT_TEXT.format(seconds=self.timeout)}".strip()
        sections: dict[str, list[str]] = {"stdout": [], "stderr": [], "log": []}
        for rep in reports:
            for title, content in rep.sections:
                kind = (
                    "stdout"
                    if "stdout" in title
                    else "stderr"
                    if "stderr" in title
                    else "log"
                    if "log" in title
                    else ""
                )
                if kind and content and content not in sections[kind]:
                    sections[kind].append(content)
        self.write(
            {
                "type": "test",
                "nodeid": nodeid,
                "outcome": outcome,
                "phase": phase,
                "duration": sum(r.duration for r in reports),
                "call_duration": next((r.duration for r in reports if r.when == "call"), None),
                "longrepr": longrepr,
                "stdout": "".join(sections["stdout"]),
                "stderr": "".join(sections["stderr"]),
                "log": "".join(sections["log"]),
                "skip_reason": skip_reason,
                "started_at": min(getattr(r, "start", 0) or time.time() for r in reports),
                "finished_at": max(getattr(r, "stop", 0) or time.time() for r in reports),
                "keywords": self.markers.pop(nodeid, []),
                "connections": self.connections.take(),
                "location": list(reports[0].location) if reports[0].location else [],
            }
        )


class _Watchdog:
    """A thread that ends the process when a test phase outlives its timeout by the grace period.

    Prior art: pytest-timeout's ``thread`` method (``timeout_timer``: read the captured output, dump
    ``sys._current_frames()``, ``os._exit``). Here the test's record is written first, with the stacks
    (threads and pending asyncio tasks, where a swallowed timeout usually hides), so fixloop keeps it
    and restarts pytest for the tests after it.
    """

    def __init__(self, reporter: FixloopReporter, config: pytest.Config, grace: float) -> None:
        self.reporter = reporter
        self.config = config
        self.grace = grace
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stopped = False
        self.item: pytest.Item | None = None
        self.phase = ""
        self.limit = 0.0
        self.phase_started = 0.0
        self.test_started = 0.0
        self.test_started_wall = 0.0
        self.thread = threading.Thread(target=self._watch, name="fixloop-watchdog", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        with self.lock:
            self.stopped = True
            self.item = None
        self.wake.set()

    def arm(self, item: pytest.Item, phase: str) -> None:
        now = _monotonic()
        with self.lock:
            if self.item is not item:
                self.test_started, self.test_started_wall = now, _wall()
            self.item, self.phase, self.phase_started = item, phase, now
            self.limit = max(self.reporter.timeout, _marker_timeout(item))
        self.wake.set()

    def disarm(self) -> None:
        with self.lock:
            self.item = None

    def _watch(self) -> None:
        while True:
            self.wake.clear()  # before reading: an arm() from now on wakes the wait below
            with self.lock:
                if self.stopped:
                    return
                item, phase, limit, since = self.item, self.phase, self.limit, self.phase_started
            if item is None or limit <= 0:
                self.wake.wait()
                continue
            left = since + limit + self.grace - _monotonic()
            if left > 0:
                self.wake.wait(left)
                continue
            with self.lock:
                still = self.item is item and self.phase == phase and self.phase_started == since
            if still:
                self._end_process(item, phase, limit, since)

    def _end_process(self, item: pytest.Item, phase: str, limit: float, since: float) -> None:
        rep = self.reporter
        now = _monotonic()
        stdout, stderr = _read_capture(self.config, item)
        text = WATCHDOG_TEXT.format(elapsed=now - since, phase=phase, seconds=limit)
        longrepr = f"{text}\n\n+++ stacks at watchdog +++\n{all_stacks()}"
        rep.write(
            {
                "type": "test",
                "nodeid": item.nodeid,
                "outcome": "failed" if phase == "call" else "error",
                "phase": phase,
                "duration": now - self.test_started,
                "call_duration": now - since if phase == "call" else None,
                "longrepr": longrepr,
                "stdout": stdout,
                "stderr": stderr,
                "log": "",
                "skip_reason": "",
                "started_at": self.test_started_wall,
                "finished_at": _wall(),
                "keywords": rep.markers.pop(item.nodeid, []),
                "connections": rep.connections.take(),
                "location": list(item.location),
                "watchdog": True,
            }
        )
        stream = sys.__stderr__
        try:
            if stream is not None:
                stream.write(f"\n+++ fixloop watchdog: {item.nodeid}: {text}\n")
                stream.flush()
        except (OSError, ValueError):
            pass
        os._exit(WATCHDOG_EXIT)


def all_stacks() -> str:
    """Every thread's stack but the watchdog's, and the stack of every pending asyncio task."""
    names = {t.ident: t.name for t in threading.enumerate()}
    me = threading.get_ident()
    parts = []
    for ident, frame in sys._current_frames().items():
        if ident != me:
            stack = "".join(traceback.format_stack(frame))
            parts.append(f"--- thread {names.get(ident, '<unknown>')} ({ident}) ---\n{stack}")
    parts.extend(_task_stacks())
    return "\n".join(parts)


def _task_stacks() -> list[str]:
    """Stacks of the asyncio tasks still pending: a suspended coroutine is on no thread's stack."""
    tasks_module = sys.modules.get("asyncio.tasks")
    if tasks_module is None:
        return []
    out = []
    for name in ("_scheduled_tasks", "_all_tasks", "_eager_tasks"):
        registry = getattr(tasks_module, name, None)
        if registry is None:
            continue
        for _ in range(3):  # the set may change under us while the loop runs
            try:
                tasks = list(registry)
                break
            except RuntimeError:
                continue
        else:
            continue
        for task in tasks:
            try:
                if task.done():
                    continue
                frames = task.get_stack()
                stack = "".join(traceback.format_list(traceback.extract_stack(frames[-1]) if frames else []))
                out.append(f"--- asyncio task {task.get_name()} ({task.get_coro()!r}) ---\n{stack}")
            except Exception:
                continue
    return out


def _marker_timeout(item: pytest.Item) -> float:
    """The test's own ``@pytest.mark.timeout(N)`` (pytest-timeout), when longer than fixloop's limit."""
    marker = item.get_closest_marker("timeout")
    if marker is None:
        return 0.0
    value = marker.kwargs.get("timeout", marker.args[0] if marker.args else 0)
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def _read_capture(config: pytest.Config, item: pytest.Item) -> tuple[str, str]:
    """What the hung test printed so far (as pytest-timeout's ``timeout_timer`` reads it)."""
    capman = config.pluginmanager.getplugin("capturemanager")
    if capman is None:
        return "", ""
    try:
        capman.suspend_global_capture(item)
        out, err = capman.read_global_capture()
        return str(out or ""), str(err or "")
    except Exception:
        return "", ""


class _AlarmHooks:
    """Per-test timeout when pytest-timeout is absent: registered only then, so it costs nothing otherwise."""

    def __init__(self, reporter: FixloopReporter) -> None:
        self.reporter = reporter

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        with _Alarm(self.reporter, item.nodeid):
            yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        with _Alarm(self.reporter, item.nodeid):
            yield


class _Alarm:
    """Context manager: SIGALRM after the timeout dumps all stacks and raises into the test."""

    def __init__(self, reporter: FixloopReporter, nodeid: str) -> None:
        self.reporter = reporter
        self.nodeid = nodeid
        self.previous: Any = None

    def __enter__(self) -> None:
        rep = self.reporter

        def on_alarm(signum: int, frame: Any) -> None:
            rep.dump_file.seek(0)
            rep.dump_file.truncate()
            faulthandler.dump_traceback(file=rep.dump_file, all_threads=True)
            rep.dump_file.seek(0)
            rep.timed_out.add(self.nodeid)
            stacks = rep.dump_file.read()
            raise _TestTimeout(f"{TIMEOUT_TEXT.format(seconds=rep.timeout)}\n+++ stacks at timeout +++\n{stacks}")

        self.previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, rep.timeout)

    def __exit__(self, *exc: object) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous or signal.SIG_DFL)


def _outcome(reports: list[Any]) -> tuple[str, str, Any]:
    """(outcome, deciding phase, deciding report) for one test's phase reports."""
    for rep in reports:
        if rep.failed:
            if rep.when == "call":
                return ("xpassed" if hasattr(rep, "wasxfail") else "failed"), "call", rep
            return "error", rep.when, rep
    for rep in reports:
        if rep.skipped:
            return ("xfailed" if hasattr(rep, "wasxfail") else "skipped"), rep.when, rep
    call = next((r for r in reports if r.when == "call"), None)
    if call is not None and hasattr(call, "wasxfail"):
        return "xpassed", "call", call
    return "passed", "call", call


def _longrepr_text(report: Any) -> str:
    try:
        return str(report.longreprtext)
    except Exception:
        return str(report.longrepr)


def pytest_configure(config: pytest.Config) -> None:
    path = os.environ.get(REPORT_ENV)
    xdist_controller = getattr(config.option, "dist", "no") != "no" and not os.environ.get("PYTEST_XDIST_WORKER")
    if xdist_controller:
        return  # the workers run the tests and write the records
    if path and not hasattr(config, "_fixloop_reporter"):
        reporter = FixloopReporter(config, path)
        config._fixloop_reporter = reporter  # type: ignore[attr-defined]
        config.pluginmanager.register(reporter, "fixloop_reporter")
        if reporter.own_timeout:
            config.pluginmanager.register(_AlarmHooks(reporter), "fixloop_timeout")


def pytest_unconfigure(config: pytest.Config) -> None:
    reporter = getattr(config, "_fixloop_reporter", None)
    if reporter is not None:
        reporter.close()
        alarm = config.pluginmanager.get_plugin("fixloop_timeout")
        if alarm is not None:
            config.pluginmanager.unregister(alarm)
        config.pluginmanager.unregister(reporter)
        del config._fixloop_reporter  # type: ignore[attr-defined]
