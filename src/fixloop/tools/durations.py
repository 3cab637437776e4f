"""Recorded test durations (``.fixloop/durations.json`` in the target repo), written by every test run.

Selection reads them to fill the first phase's time budget; a test never run has no duration.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fixloop.records import TestRun

DURATIONS_FILE = Path(".fixloop") / "durations.json"


def load_durations(repo: Path) -> dict[str, float]:
    """Node id -> seconds of its last recorded run (empty when none is recorded or the file is unreadable)."""
    try:
        data = json.loads((repo / DURATIONS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def record_durations(repo: Path, run: TestRun) -> None:
    """Merge ``run``'s durations into the repo's durations file (atomically; a read-only repo is left alone)."""
    measured = {r.nodeid: round(r.duration, 4) for r in run.results if r.outcome != "skipped"}
    if not measured:
        return
    path = repo / DURATIONS_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        merged = {**load_durations(repo), **measured}
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(merged, sort_keys=True), encoding="utf-8")
        temporary.replace(path)
    except OSError:
        return


def file_seconds(durations: dict[str, float], path: str) -> float | None:
    """The recorded seconds of every test of file ``path``; None when none is recorded."""
    prefix = f"{path}::"
    found = [seconds for nodeid, seconds in durations.items() if nodeid.startswith(prefix)]
    return sum(found) if found else None
