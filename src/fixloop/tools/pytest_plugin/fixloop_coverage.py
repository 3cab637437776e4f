"""fixloop's coverage plugin: coverage.py with one dynamic context per test (its node id).

Standalone like ``fixloop_report`` (it imports nothing from fixloop) and loaded the same way
(``-p fixloop_coverage``). It does nothing unless ``--fixloop-coverage=<data file>`` names the data file to
write; ``--fixloop-coverage-source=<folder>`` is the folder to measure (default: the rootdir). Each test's
lines are recorded under the context ``<node id>``, as pytest-cov's ``--cov-context=test`` does; coverage.py
does the tracing.

Cheap on purpose, since it may ride along every test run:

- coverage starts when the tests start (``pytest_runtestloop``), not at configure: collection (importing
  every test module, assertion rewriting) is not traced. Module-level lines are lost, which the spectrum
  drops anyway (they run at import, for whichever test imported first);
- ``switch_context`` flushes each test's lines into the data file, so a process that a hang or a crash ends
  keeps the lines of the tests it finished;
- an xdist worker writes ``<data file>.<worker id>``; the controller measures nothing;
- without coverage.py in the target's environment, or with pytest-cov measuring already (two tracers
  would pause each other), it does nothing and the run goes on.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

DATA_OPTION = "--fixloop-coverage"
SOURCE_OPTION = "--fixloop-coverage-source"
_COVERAGE = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fixloop-coverage")
    group.addoption(DATA_OPTION, default=None, help="coverage.py data file with one context per test (fixloop)")
    group.addoption(SOURCE_OPTION, default=None, help="folder to measure (default: the rootdir)")


def _data_file(config: pytest.Config) -> str | None:
    data_file: str | None = config.getoption(DATA_OPTION)
    if not data_file:
        return None
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        return f"{data_file}.{worker}"
    if getattr(config.option, "numprocesses", None) or getattr(config.option, "dist", "no") != "no":
        return None  # the xdist controller: its workers run the tests
    return data_file


def _pytest_cov_active(config: pytest.Config) -> bool:
    return bool(config.pluginmanager.has_plugin("_cov") and getattr(config.option, "cov_source", None))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, None, None]:
    config = session.config
    data_file = _data_file(config)
    measured = None
    if data_file and not _pytest_cov_active(config) and not session.config.option.collectonly:
        try:
            import coverage  # the target's own coverage.py
        except ImportError:
            coverage = None  # type: ignore[assignment]  # no spectrum from this run; fixloop says so
        if coverage is not None:
            source = config.getoption(SOURCE_OPTION) or str(config.rootpath)
            measured = coverage.Coverage(data_file=data_file, source=[source], config_file=False)
            measured.erase()  # a file left by an earlier run in the same folder would add its tests' lines
            measured.start()
            config.stash[_COVERAGE] = measured
    try:
        yield
    finally:
        if measured is not None:
            measured.stop()
            measured.save()
            del config.stash[_COVERAGE]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    measured = item.config.stash.get(_COVERAGE, None)
    if measured is not None:
        measured.switch_context(item.nodeid)
    yield
    if measured is not None:
        measured.switch_context("")
