"""Shared test setup: an isolated FIXLOOP_HOME, and no real model calls by default."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_fixloop_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own run store; no test reads or writes ~/.fixloop."""
    home = tmp_path_factory.mktemp("fixloop-home")
    monkeypatch.setenv("FIXLOOP_HOME", str(home))
    # Real model endpoints are unreachable in tests: make an accidental real call fail loudly.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    yield home
