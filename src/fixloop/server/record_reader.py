"""The cheap read behind chat's ``status`` and ``why``: the run's own run.json.

Whoever drives a run rewrites ``OUT/run.json`` (atomically) after every step, so the
server answers from that file instead of opening the checkpointer and rebuilding the
graph's state. The file is read in a chat worker, never on an acknowledgement's path.
A run whose record is not on this machine (a worker elsewhere wrote it) falls back to
the checkpoint read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RUN_JSON = "run.json"


def read_run_json(out_dir: Path) -> dict[str, Any] | None:
    """``OUT/run.json`` as a dict, or None when there is none (yet) or it cannot be read."""
    try:
        doc = json.loads((out_dir / RUN_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or "status" not in doc:
        return None
    doc.setdefault("out_dir", str(out_dir))
    return doc
