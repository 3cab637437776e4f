"""pytest plugin: run every selected test N times in one process (N from FIXLOOP_STRESS_RUNS).

Each repetition is its own parametrized item, ``test_x[stress1]`` ... ``test_x[stressN]``,
so that each repetition has its own result and JUnit test case.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

FIXTURE = "fixloop_stress_run"


def _runs() -> int:
    try:
        return max(0, int(os.environ.get("FIXLOOP_STRESS_RUNS", "0")))
    except ValueError:
        return 0


@pytest.fixture
def fixloop_stress_run(request: Any) -> int:
    return int(request.param)


def pytest_generate_tests(metafunc: Any) -> None:
    runs = _runs()
    if runs > 0:
        metafunc.fixturenames.append(FIXTURE)
        metafunc.parametrize(FIXTURE, range(1, runs + 1), indirect=True, ids=[f"stress{i}" for i in range(1, runs + 1)])
