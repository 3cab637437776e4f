"""Fixtures for the test-intelligence tests: small generated suites in tmp dirs."""

from __future__ import annotations

import socket
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixloop.config import Settings
from fixloop.records import TestResult, TestRun
from fixloop.tools.run_tests import run_tests


def write_files(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path -> source, dedented) under ``root`` and return ``root``."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


MIXED_SUITE = {
    "tests/e2e/test_chat_e2e.py": """
        import logging
        import os
        import socket
        import time

        import pytest


        @pytest.fixture
        def blocked_fixture():
            time.sleep(60)


        def test_talks_to_target():
            with socket.create_connection(("127.0.0.1", int(os.environ["TARGET_PORT"]))):
                time.sleep(0.05)
            print("hello from the target test")


        def test_fake_instant():
            assert True


        def test_fails_with_output():
            print("about to compare")
            assert 1 + 1 == 3, "server answered 500"


        @pytest.mark.skip(reason="Docker unavailable")
        def test_needs_docker():
            pass


        def test_hangs():
            time.sleep(60)


        def test_setup_hangs(blocked_fixture):
            pass


        def test_swallows_error():
            with socket.create_connection(("127.0.0.1", int(os.environ["TARGET_PORT"]))):
                time.sleep(0.05)
            try:
                raise ConnectionError("handshake failed")
            except ConnectionError:
                logging.getLogger("chat").error("swallowed: handshake failed")


        @pytest.mark.xfail(reason="known bug")
        def test_known_bug():
            assert False
    """,
    "tests/e2e/test_broken_import.py": """
        import module_that_does_not_exist

        def test_never_runs():
            pass
    """,
}


@pytest.fixture(scope="session")
def target_listener() -> Iterator[socket.socket]:
    """A real TCP listener on loopback standing in for the target's port."""
    server = socket.create_server(("127.0.0.1", 0), backlog=64)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def mixed_run(tmp_path_factory: pytest.TempPathFactory, target_listener: socket.socket) -> MixedRun:
    """One real pytest run of MIXED_SUITE with a 2 s per-test timeout (shared by several tests)."""
    repo = write_files(tmp_path_factory.mktemp("mixed") / "repo", MIXED_SUITE)
    out = repo.parent / "out"
    port = target_listener.getsockname()[1]
    run = run_tests(repo, ["tests"], Settings(), env={"TARGET_PORT": str(port)}, out_dir=out, timeout=2)
    return MixedRun(repo=repo, out=out, port=port, run=run)


@dataclass
class MixedRun:
    repo: Path
    out: Path
    port: int
    run: TestRun

    def result(self, name: str) -> TestResult:
        return next(r for r in self.run.results if r.nodeid.endswith("::" + name))
