"""Helpers for the end-to-end graph tests: demo runs in real subprocesses, their run.json, cleanup."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fixloop.target import stop_target


def read_run(out: Path) -> dict[str, Any]:
    return json.loads((out / "run.json").read_text(encoding="utf-8"))


@pytest.fixture
def demo_out(tmp_path: Path) -> Iterator[Path]:
    """A demo output folder; the target started in its workspace is stopped afterwards, whatever happened."""
    out = tmp_path / "demo"
    yield out
    workspace = out / "workspace"
    if workspace.exists():
        stop_target(workspace)
