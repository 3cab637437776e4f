"""Helpers for the end-to-end graph tests: demo runs in real subprocesses, their run.json, cleanup."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from fixloop.target import stop_target

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


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


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A checkpointer URL on the local PostgreSQL server, in a fresh schema dropped afterwards."""
    schema = f"fixloop_graph_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
