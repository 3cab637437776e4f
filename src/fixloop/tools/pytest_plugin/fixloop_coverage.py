"""fixloop's coverage plugin: coverage.py with one dynamic context per test (its node id).

Standalone like ``fixloop_report`` (it imports nothing from fixloop) and loaded the same way
(``-p fixloop_coverage``). It does nothing unless ``FIXLOOP_COVERAGE_FILE`` names the data file to
write; ``FIXLOOP_COVERAGE_SOURCE`` is the folder to measure (the repo). Each test's lines are recorded
under the context ``<node id>``, as pytest-cov's ``--cov-context=test`` does; coverage.py does the tracing.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

COVERAGE_ENV = "FIXLOOP_COVERAGE_FILE"
SOURCE_ENV = "FIXLOOP_COVERAGE_SOURCE"
_COVERAGE = pytest.StashKey[Any]()


def pytest_configure(config: pytest.Config) -> None:
    data_file = os.environ.get(COVERAGE_ENV)
    if not data_file:
        return
    import coverage  # the target's own coverage.py

    source = os.environ.get(SOURCE_ENV) or os.getcwd()
    measured = coverage.Coverage(data_file=data_file, source=[source], config_file=False)
    measured.start()
    config.stash[_COVERAGE] = measured


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    measured = item.config.stash.get(_COVERAGE, None)
    if measured is not None:
        measured.switch_context(item.nodeid)
    yield
    if measured is not None:
        measured.switch_context("")


def pytest_unconfigure(config: pytest.Config) -> None:
    measured = config.stash.get(_COVERAGE, None)
    if measured is not None:
        measured.stop()
        measured.save()
