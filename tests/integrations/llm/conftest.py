from __future__ import annotations

from pathlib import Path

import pytest

from tests.integrations.llm.scenario_repo import ScenarioRepo, make_scenario_repo


@pytest.fixture
def scenario_repo(tmp_path: Path) -> ScenarioRepo:
    return make_scenario_repo(tmp_path)
