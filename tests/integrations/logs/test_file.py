"""The file log source: JSON lines in both LogEntry shapes, window and filters, bad paths."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from fixloop.errors import LogSourceError
from fixloop.integrations.logs.file import FileLogSource
from fixloop.interfaces import LogQuery
from tests.integrations.logs.samples import T0, backend_entries, stamp


def write_lines(path: Path, rows: Sequence[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_window_service_and_severity_filters(tmp_path: Path) -> None:
    source = FileLogSource(write_lines(tmp_path / "backend.jsonl", backend_entries()))
    query = LogQuery(start=T0, end=T0 + timedelta(seconds=10), service_name="chatbackend", min_severity="ERROR")
    entries = source.fetch(query)
    assert [e.message for e in entries] == ["websocket handshake failed: KeyError 'session_store'"] * 2
    first = entries[0]
    assert (first.source_file, first.source_line, first.source_function) == (
        "chatbackend/ws.py",
        88,
        "accept_connection",
    )
    assert first.trace == "projects/demo-proj/traces/abc123"
    assert first.revision_name == "chatbackend-00499-fgv"


def test_structured_stdout_lines_and_garbage_are_read(tmp_path: Path) -> None:
    rows: list[object] = [
        "plain text line from uvicorn",
        "{not json",
        {
            "time": stamp(5),
            "severity": "error",
            "message": "agent crashed",
            "run_id": "r-1",
            "logging.googleapis.com/sourceLocation": {"file": "chatbackend/agent.py", "line": 12, "function": "run"},
        },
        {"severity": "INFO", "message": "no timestamp"},
    ]
    folder = tmp_path / "logs"
    folder.mkdir()
    write_lines(folder / "a.log", rows)
    entries = FileLogSource(folder).fetch(LogQuery(start=T0, end=T0 + timedelta(seconds=10)))
    assert len(entries) == 1
    assert entries[0].severity == "ERROR"
    assert entries[0].payload == {"run_id": "r-1"}
    assert entries[0].source_file == "chatbackend/agent.py"


def test_limit_keeps_the_newest(tmp_path: Path) -> None:
    source = FileLogSource(write_lines(tmp_path / "b.jsonl", backend_entries()))
    entries = source.fetch(LogQuery(start=T0 - timedelta(hours=1), end=T0 + timedelta(hours=1), limit=2))
    assert [e.message for e in entries] == ["slow request 1200 ms", "much later"]


def test_missing_path_is_a_log_source_error(tmp_path: Path) -> None:
    with pytest.raises(LogSourceError, match="does not exist"):
        FileLogSource(tmp_path / "nope.jsonl").fetch(LogQuery(start=T0, end=T0))
