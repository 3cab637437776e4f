"""What one pytest process of a test run left behind: its results, its collected ids, how it ended.

A test run can take several pytest processes (rounds): when the plugin's watchdog ends a hung process,
or the process crashes, ``run_tests`` starts another for the tests it had not reached. This module reads
one round's JSON-lines report (``pytest_plugin/fixloop_report.py``) into records.
"""

from __future__ import annotations

import json
import re
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from fixloop.records import ChildExit, Connection, TestResult
from fixloop.tools.pytest_process import REPORT_FILE, StartedTests

TAIL_CHARS = 8000
NORMAL_EXITS = (0, 1, 2, 5)  # pytest: ok, tests failed, interrupted, no tests collected
PYTEST_EXITS = (*NORMAL_EXITS, 3, 4)  # and internal error, usage error (e.g. a conftest that fails to import)
CRASH_TEXT = "Crashed: the pytest process ended ({status}) while this test ran; fixloop kept the results before it"
THREAD_TIMEOUT_TEXT = "Timeout: pytest-timeout (thread method) dumped the stacks and ended the pytest process"
_THREAD_TIMEOUT_BANNER = re.compile(r"^\+{5,} Timeout \+{5,}$", re.MULTILINE)
RUN_LIMIT_TEXT = "Timeout: the whole run hit its timeout while this test ran (per-test limit {per_test:g} s)"


@dataclass
class Round:
    """One pytest process's results and how it ended (``ended`` is None when it finished normally)."""

    started: StartedTests
    exit_code: int
    results: list[TestResult]
    collection_errors: list[str]
    collected: list[str] | None  # repo-relative ids, None when collection never finished
    output: str
    ended: ChildExit | None = None
    done: set[str] = field(default_factory=set)


def read_round(started: StartedTests) -> Round:
    """Wait for ``started`` to exit and read what it recorded."""
    exit_code = started.wait()
    records = _read_records(started.out)
    prefix = _prefix(records, started.repo)
    results, unfinished, errors = _results(records, prefix)
    collected = next(([prefix + n for n in rec["nodeids"]] for rec in records if rec.get("type") == "collected"), None)
    output = started.output_file.read_text(encoding="utf-8", errors="replace")
    if exit_code in (3, 4) and not results and not errors and not unfinished:
        errors.append(tail(output, 2000) or f"pytest exited with code {exit_code}")
    status = describe_status(exit_code)
    ended = _how_it_ended(started, records, exit_code, unfinished, collected, results)
    thread_timeout = _thread_method_timeout(output) if unfinished and not started.timed_out else ""
    if thread_timeout and ended is not None:
        ended.reason, ended.detail = "hang", "ended by pytest-timeout's thread method"
    for nodeid, at in unfinished:  # the process died or was killed inside this test
        if started.timed_out:
            text = RUN_LIMIT_TEXT.format(per_test=started.per_test)
        elif thread_timeout and nodeid == unfinished[-1][0]:
            text = f"{THREAD_TIMEOUT_TEXT}\n\n{thread_timeout}"
        else:
            text = CRASH_TEXT.format(status=status)
        results.append(
            TestResult(
                nodeid=nodeid, outcome="error", phase="call", longrepr=text,
                started_at=datetime.fromtimestamp(at, UTC), file=nodeid.split("::")[0],
            )
        )  # fmt: skip
    return Round(
        started=started, exit_code=exit_code, results=results, collection_errors=errors, collected=collected,
        output=output, ended=ended, done={r.nodeid for r in results},
    )  # fmt: skip


def _thread_method_timeout(output: str) -> str:
    """What pytest-timeout's ``thread`` method printed (output and stacks between its banners), or ""."""
    banners = list(_THREAD_TIMEOUT_BANNER.finditer(output))
    if not banners:
        return ""
    end = banners[-1].start() if len(banners) > 1 else len(output)
    return output[banners[0].end() : end].strip()[-TAIL_CHARS:]


def describe_status(exit_code: int) -> str:
    """``exit status 3`` or ``killed by SIGKILL``."""
    if exit_code < 0:
        try:
            return f"killed by {signal.Signals(-exit_code).name}"
        except ValueError:
            return f"killed by signal {-exit_code}"
    return f"exit status {exit_code}"


def _how_it_ended(
    started: StartedTests,
    records: list[dict[str, Any]],
    exit_code: int,
    unfinished: list[tuple[str, float]],
    collected: list[str] | None,
    results: list[TestResult],
) -> ChildExit | None:
    prefix = _prefix(records, started.repo)
    starts = [prefix + rec["nodeid"] for rec in records if rec.get("type") == "start"]
    last = unfinished[-1][0] if unfinished else (starts[-1] if starts else None)
    sig = signal.Signals(-exit_code).name if exit_code < 0 and -exit_code in signal.valid_signals() else None

    def ended(reason: Literal["hang", "crash", "run-timeout"], last_test: str | None, detail: str = "") -> ChildExit:
        return ChildExit(
            round=started.round, reason=reason, exit_code=exit_code, signal=sig, last_test=last_test, detail=detail
        )

    if started.timed_out:
        return ended("run-timeout", last)
    hung = next((r for r in records if r.get("type") == "test" and r.get("watchdog")), None)
    if hung is not None:
        return ended("hang", prefix + hung["nodeid"], "ended by fixloop's watchdog")
    session_ended = any(rec.get("type") == "end" for rec in records)
    not_pytest = exit_code not in PYTEST_EXITS  # pytest itself never exits with a signal or another status
    died_after_collection = collected is not None and not session_ended and exit_code not in NORMAL_EXITS
    if unfinished or not_pytest or died_after_collection:
        where = "before its collection finished" if collected is None else ""
        if where == "" and not unfinished:
            where = "between tests" if results else "before its first test"
        return ended("crash", last, where)
    return None


def _read_records(out: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for path in sorted(out.glob(REPORT_FILE + "*")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a kill
    return records


def _prefix(records: list[dict[str, Any]], repo: Path) -> str:
    """How pytest's rootdir sits in the repo: node ids are made repo-relative with it."""
    for rec in records:
        if rec.get("type") == "session":
            root = Path(rec["rootdir"]).resolve()
            if root != repo and root.is_relative_to(repo):
                return root.relative_to(repo).as_posix() + "/"
            break
    return ""


def _results(records: list[dict[str, Any]], prefix: str) -> tuple[list[TestResult], list[tuple[str, float]], list[str]]:
    results: list[TestResult] = []
    errors: list[str] = []
    started: dict[str, float] = {}
    finished: set[str] = set()
    for rec in records:
        kind = rec.get("type")
        if kind == "start":
            started[rec["nodeid"]] = rec["at"]
        elif kind == "collect_error":
            errors.append(f"{prefix}{rec['nodeid']}: {rec['longrepr']}")
        elif kind == "test" and rec["nodeid"] not in finished:  # the watchdog and the test may race to the end
            finished.add(rec["nodeid"])
            results.append(_result(rec, prefix))
    unfinished = [(prefix + nodeid, at) for nodeid, at in started.items() if nodeid not in finished]
    return results, unfinished, errors


def _result(rec: dict[str, Any], prefix: str) -> TestResult:
    def stamp(value: Any) -> datetime | None:
        return datetime.fromtimestamp(float(value), UTC) if value else None

    nodeid = prefix + rec["nodeid"]
    return TestResult(
        nodeid=nodeid,
        outcome=rec["outcome"],
        phase=rec["phase"],
        duration=float(rec.get("duration") or 0.0),
        call_duration=None if rec.get("call_duration") is None else float(rec["call_duration"]),
        longrepr=rec.get("longrepr", ""),
        stdout=rec.get("stdout", ""),
        stderr=rec.get("stderr", ""),
        log=rec.get("log", ""),
        skip_reason=rec.get("skip_reason", ""),
        started_at=stamp(rec.get("started_at")),
        finished_at=stamp(rec.get("finished_at")),
        connections=[Connection(**c) for c in rec.get("connections", [])],
        file=nodeid.split("::")[0],
        keywords=list(rec.get("keywords", [])),
    )


def tail(text: str, limit: int) -> str:
    return text if len(text) <= limit else "…" + text[-limit:]
