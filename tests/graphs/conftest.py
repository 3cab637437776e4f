"""Helpers for the end-to-end graph tests: demo runs in real subprocesses, their run.json, cleanup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_run(out: Path) -> dict[str, Any]:
    return json.loads((out / "run.json").read_text(encoding="utf-8"))
