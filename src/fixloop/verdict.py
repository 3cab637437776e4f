"""``fixloop verify``'s verdict kept beside the run's record (``OUT/verify.json``), for the run page to show.

Small on purpose: the server reads it without importing the verifier (or the agent stack behind it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fixloop.atomic import write_bytes_atomic

VERDICT = "verify.json"


def write_verdict(out_dir: Path, *, ok: bool, checked: Sequence[str], problems: Sequence[str]) -> Path:
    doc = {"ok": ok, "checked": list(checked), "problems": list(problems), "at": datetime.now(UTC).isoformat()}
    path = out_dir / VERDICT
    write_bytes_atomic(path, json.dumps(doc, indent=2).encode())
    return path


def read_verdict(out_dir: Path) -> dict[str, Any] | None:
    """The recorded verdict for ``out_dir``, or None when ``fixloop verify`` never ran there."""
    try:
        doc = json.loads((out_dir / VERDICT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and "ok" in doc else None
