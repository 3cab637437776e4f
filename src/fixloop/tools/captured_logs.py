"""The tests' own captured logs (pytest's "Captured log call") as log entries.

When no log backend is configured, a library's failing test often still logged the decisive error
itself: pytest captured it and the fixloop plugin recorded it (``TestResult.log``). Each record of
pytest's default format (``%(levelname)-8s %(name)s:%(filename)s:%(lineno)d %(message)s``) becomes a
``LogEntry`` with its source location; the lines after a record (a traceback) belong to it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fixloop.interfaces import LogEntry
from fixloop.records import TestResult, TestRun

_LEVELS = "CRITICAL|FATAL|ERROR|WARNING|WARN|INFO|DEBUG"
# "ERROR    ledger.accounts:accounts.py:16 rejected line" (pytest's default log_format)
_RECORD = re.compile(rf"^(?P<level>{_LEVELS})\s+(?P<logger>[^\s:]+):(?P<file>[^\s:]+\.py):(?P<line>\d+)\s?(?P<msg>.*)$")
# Any other format that starts with the level name: no source location.
_BARE = re.compile(rf"^(?P<level>{_LEVELS})\b[\s:]*(?P<msg>.*)$")
SEVERITY = {"FATAL": "CRITICAL", "WARN": "WARNING"}
MAX_ENTRIES_PER_TEST = 50


def captured_entries(run: TestRun, tests: list[str]) -> list[LogEntry]:
    """The log records the tests ``tests`` captured themselves, each tagged with its test (payload ``test``)."""
    wanted = set(tests)
    entries: list[LogEntry] = []
    for result in run.results:
        if result.nodeid in wanted and result.log.strip():
            entries += parse_captured_log(result)[:MAX_ENTRIES_PER_TEST]
    return entries


def parse_captured_log(result: TestResult) -> list[LogEntry]:
    """The records of one test's captured log, oldest first."""
    when = result.started_at or datetime.fromtimestamp(0, tz=UTC)
    entries: list[LogEntry] = []
    for line in result.log.splitlines():
        record = _RECORD.match(line)
        bare = None if record else _BARE.match(line)
        if record is not None:
            entries.append(
                LogEntry(
                    timestamp=when,
                    severity=SEVERITY.get(record["level"], record["level"]),
                    message=record["msg"],
                    payload={"test": result.nodeid, "logger": record["logger"]},
                    source_file=_source_path(record["logger"], record["file"]),
                    source_line=int(record["line"]),
                )
            )
        elif bare is not None:
            level = bare["level"]
            entries.append(
                LogEntry(
                    timestamp=when,
                    severity=SEVERITY.get(level, level),
                    message=bare["msg"],
                    payload={"test": result.nodeid},
                )
            )
        elif entries and line.strip():
            _continue(entries[-1], line)
    return entries


def _continue(entry: LogEntry, line: str) -> None:
    """A line after a record: part of its message, and of its traceback once one starts."""
    entry.message += "\n" + line
    trace = entry.payload.get("stack_trace")
    if isinstance(trace, str):
        entry.payload["stack_trace"] = trace + "\n" + line
    elif line.startswith("Traceback (most recent call last)"):
        entry.payload["stack_trace"] = line


def _source_path(logger: str, filename: str) -> str:
    """``ledger.accounts`` + ``accounts.py`` -> ``ledger/accounts.py``; the bare file name otherwise."""
    parts = logger.split(".")
    if parts[-1] == filename.removesuffix(".py"):
        return "/".join(parts) + ".py"
    return filename
