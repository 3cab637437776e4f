"""fixloop's pytest reporting plugin: one JSON line per test, written inside the target's interpreter.

Standalone on purpose: it imports nothing from fixloop, so it loads in any environment with
``PYTHONPATH=<this folder> python -m pytest -p fixloop_report``. Settings come from env vars:

- ``FIXLOOP_REPORT_FILE``: the JSON-lines file to append to (xdist workers add ``.<worker id>``);
- ``FIXLOOP_TEST_TIMEOUT``: seconds per test. pytest-timeout enforces it when installed (fixloop
  sets ``PYTEST_TIMEOUT`` too); otherwise this plugin does, with SIGALRM, after dumping every
  thread's stack with ``faulthandler``.

Each line is ``{"type": "start"|"test"|"collect_error"|"session"|"collected", ...}``. A ``start`` without its
``test`` line means the process died during that test.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Generator
from typing import Any

import pytest

REPORT_ENV = "FIXLOOP_REPORT_FILE"
TIMEOUT_ENV = "FIXLOOP_TEST_TIMEOUT"
TIMEOUT_TEXT = "Timeout: test exceeded {seconds:g} s (fixloop_report)"


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
        self.file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed at unconfigure
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

    def write(self, record: dict[str, Any]) -> None:
        self.file.write(json.dumps(record, default=str) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.connections.uninstall()
        self.file.close()
        self.dump_file.close()

    # ------------------------------------------------------------ hooks

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
        self.markers[item.nodeid] = sorted({m.name for m in item.iter_markers()})
        self.connections.take()
        self.write({"type": "start", "nodeid": item.nodeid, "at": time.time()})
        yield

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.phases.setdefault(report.nodeid, []).append(report)
        if report.when == "teardown":
            self._emit(report.nodeid)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.write({"type": "collected", "count": len(session.items)})  # the progress display's N

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
