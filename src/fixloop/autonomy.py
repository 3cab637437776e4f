"""Autonomy levels: how far a run may go on its own (diagnose -> patch -> pr -> merge).

The level a run starts with comes from ``--stop-at`` or the settings (``[autonomy]``
default, per focus). ``fixloop stop-at THREAD LEVEL`` may only lower it while the
run lives: the lowered level is written to ``OUT/stop-at.json`` and every node
that decides how far to go reads ``effective_level`` (the lower of the two), so a
lowering reaches a run driven by another process at its next step.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from fixloop.atomic import write_text_atomic
from fixloop.config import AutonomyLevel, Settings
from fixloop.errors import UsageError
from fixloop.records import utc_now

LEVELS: tuple[AutonomyLevel, ...] = ("diagnose", "patch", "pr", "merge")
STOP_FILE = "stop-at.json"
ENDED = ("green", "gave_up", "diagnosed", "error")


def rank(level: str) -> int:
    if level not in LEVELS:
        raise UsageError(f"unknown autonomy level {level!r}", hint=f"use one of {', '.join(LEVELS)}")
    return LEVELS.index(cast(AutonomyLevel, level))


def lowest(*levels: str) -> AutonomyLevel:
    return LEVELS[min(rank(level) for level in levels)]


def level_for(settings: Settings, focus: str) -> AutonomyLevel:
    """The configured level for ``focus`` (``[autonomy.focus]``), else ``[autonomy] default``."""
    return settings.autonomy.focus.get(focus, settings.autonomy.default)


def lowered_level(out_dir: Path) -> AutonomyLevel | None:
    """The level ``fixloop stop-at`` set for the run writing to ``out_dir``, if any."""
    path = out_dir / STOP_FILE
    try:
        level = json.loads(path.read_text(encoding="utf-8")).get("level")
    except (OSError, ValueError, AttributeError):
        return None
    return cast(AutonomyLevel, level) if level in LEVELS else None


def effective_level(run: Any) -> AutonomyLevel:
    """How far ``run`` (a RunInfo) may go now: its starting level, or lower if someone lowered it."""
    lowered = lowered_level(Path(run.out_dir))
    return lowest(run.stop_at, lowered) if lowered else cast(AutonomyLevel, run.stop_at)


def lower_stop_at(thread_id: str, level: str, *, checkpointer: str | None = None, by: str | None = None) -> str:
    """Lower a run's level (refuse to raise it); return what happens next, in one line. ``by`` is recorded."""
    from fixloop.checkpoints import find_run

    entry = find_run(thread_id, checkpointer)
    out_dir = Path(entry.out_dir)
    started = str(entry.request.get("stop_at") or "merge")
    current = lowest(started, lowered_level(out_dir) or started)
    if rank(level) > rank(current):
        raise UsageError(
            f"run {thread_id} is at level {current}: raising it to {level} is not allowed, only lowering",
            hint=f"start a new run with --stop-at {level}",
        )
    if entry.status in ENDED:
        raise UsageError(f"run {thread_id} already ended ({entry.status}): there is nothing left to stop")
    if level == current:
        return f"run {thread_id} is already at level {current}"
    out_dir.mkdir(parents=True, exist_ok=True)
    record = {"level": level, "was": current, "at": utc_now().isoformat(), **({"by": by} if by else {})}
    write_text_atomic(out_dir / STOP_FILE, json.dumps(record) + "\n")
    after = {
        "diagnose": "no patch, PR or merge from now on",
        "patch": "validated patches, no PR or merge from now on",
        "pr": "PRs may be opened but nothing is merged",
    }.get(level, "")
    who = f" (asked by {by})" if by else ""
    return f"run {thread_id}: level lowered from {current} to {level}{who}: {after}"
