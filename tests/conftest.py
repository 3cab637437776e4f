"""Shared test setup: an isolated FIXLOOP_HOME, no real model calls, a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

import fixloop
from fixloop.target import stop_target

SRC = Path(fixloop.__file__).resolve().parent.parent
PROJECT_ROOT = SRC.parent
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"  # the local server the machine starts (trust auth)


@pytest.fixture(autouse=True)
def isolated_fixloop_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own run store; no test reads or writes ~/.fixloop."""
    home = tmp_path_factory.mktemp("fixloop-home")
    monkeypatch.setenv("FIXLOOP_HOME", str(home))
    monkeypatch.setenv("FIXLOOP_PROJECT_ROOT", str(PROJECT_ROOT))
    # Real model endpoints are unreachable in tests: make an accidental real call fail loudly.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    yield home


CliRunner = Callable[..., subprocess.CompletedProcess[str]]


def cli_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a ``python -m fixloop`` child: this one, importing the fixloop under test, plus ``env``."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join([str(SRC), full_env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    full_env.update(env or {})
    return full_env


@pytest.fixture
def run_cli() -> CliRunner:
    """Run ``python -m fixloop ARGS`` in a subprocess, importing the fixloop under test."""

    def _run(
        *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "fixloop", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            env=cli_env(env),
        )

    return _run


@contextmanager
def pg_schema(prefix: str = "fixloop_test") -> Iterator[str]:
    """A checkpointer URL on the local PostgreSQL server, in a fresh schema dropped afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A checkpointer URL on the local PostgreSQL server, in a fresh schema dropped afterwards."""
    with pg_schema() as url:
        yield url


@pytest.fixture
def demo_out(tmp_path: Path) -> Iterator[Path]:
    """A demo output folder; the target started in its workspace is stopped afterwards, whatever happened."""
    out = tmp_path / "demo"
    yield out
    workspace = out / "workspace"
    if workspace.exists():
        stop_target(workspace)
