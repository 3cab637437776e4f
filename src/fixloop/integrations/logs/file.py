"""The ``file`` log source: JSON-lines files in Cloud Logging ``LogEntry`` shape."""

from __future__ import annotations

import json
from pathlib import Path

from fixloop.errors import LogSourceError
from fixloop.integrations.logs.entries import entry_from_json, matches
from fixloop.interfaces import LogEntry, LogQuery

LOG_SUFFIXES = (".jsonl", ".json", ".log", ".ndjson")


class FileLogSource:
    """Reads one JSON-lines file, or every ``*.jsonl``/``*.log`` file of a folder; skips non-JSON lines."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def files(self) -> list[Path]:
        if self.path.is_file():
            return [self.path]
        if self.path.is_dir():
            return sorted(p for p in self.path.iterdir() if p.is_file() and p.suffix in LOG_SUFFIXES)
        raise LogSourceError(
            f"log path {self.path} does not exist", hint="set logs.path to a JSON-lines file or folder"
        )

    def fetch(self, query: LogQuery) -> list[LogEntry]:
        """Entries in the window, oldest first (at most ``query.limit``, the newest ones kept)."""
        found: list[LogEntry] = []
        for path in self.files():
            try:
                with path.open(encoding="utf-8", errors="replace") as handle:
                    for line in handle:
                        entry = _parse_line(line)
                        if entry is not None and matches(
                            entry,
                            start=query.start,
                            end=query.end,
                            min_severity=query.min_severity,
                            service=query.service_name,
                            revision=query.revision_name,
                            trace=query.trace,
                        ):
                            found.append(entry)
            except OSError as exc:
                raise LogSourceError(f"cannot read log file {path}: {exc.strerror or exc}") from None
        found.sort(key=lambda e: e.timestamp)
        return found[-query.limit :] if query.limit > 0 else found


def _parse_line(line: str) -> LogEntry | None:
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        return None
    return entry_from_json(data) if isinstance(data, dict) else None
