"""Seeded-fault scenarios (``evals/scenarios/<name>/``) and work folders made from the example."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fixloop.errors import NotReadyError


@dataclass
class Scenario:
    name: str
    path: Path  # the scenario folder
    description: str
    focus: str
    expected_kinds: list[str]  # category kinds the triage must find
    expected_file: str  # root-cause file, relative to the example root
    expected_function: str = ""
    trigger: str = ""
    flaky: bool = False
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def fault_patch(self) -> Path:
        return self.path / "fault.patch"

    @property
    def gold_patch(self) -> Path:
        return self.path / "gold.patch"


def list_scenarios() -> list[Scenario]:
    raise NotReadyError("scenarios land with issue #2")


def load_scenario(name: str) -> Scenario:
    """The scenario called ``name``; UsageError listing the known names when there is none."""
    raise NotReadyError("scenarios land with issue #2")


def prepare_workspace(dest: Path, scenario: Scenario | None) -> Path:
    """Copy examples/chatbackend to ``dest``, make it a git repo (commit "baseline"), apply the
    scenario's fault as a second commit, and return ``dest``."""
    raise NotReadyError("scenarios land with issue #2")
