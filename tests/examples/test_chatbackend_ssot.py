"""The example keeps one source of truth: event names only in events.py, env var names only in config.py.

Every scenario's gold patch keeps it that way; the renamed-event fault is the one that breaks it.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

from fixloop.agents.auditor import audit_patch
from fixloop.scenarios import apply_patch, example_dir, load_scenario, prepare_workspace
from fixloop.target import start_target, stop_target, test_env
from tests.conftest import PROJECT_ROOT
from tests.examples.suite import P1_FILE, run_suite

EVENT_NAMES = {"agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed"}


def string_constants(path: Path) -> set[str]:
    return {
        node.value
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def ssot_violations(example: Path) -> list[str]:
    """Definitions of event names / env var names outside their one home, and near-copies of event names."""
    package = example / "chatbackend"
    problems = []
    for path in sorted(package.glob("*.py")):
        constants = string_constants(path)
        if path.name != "events.py":
            near = {c for c in constants if c.startswith(("agent_", "tool_")) and c.replace("_", "").isalpha()}
            problems += [f"{path.name}: event name {c!r}" for c in sorted(near)]
        if path.name != "config.py":
            problems += [f"{path.name}: env var {c!r}" for c in sorted(constants) if c.startswith("CHAT_")]
    return problems


def test_example_has_one_source_of_truth() -> None:
    assert string_constants(example_dir() / "chatbackend" / "events.py") >= EVENT_NAMES
    assert ssot_violations(example_dir()) == []


@pytest.mark.parametrize(
    "name", sorted(p.parent.name for p in (PROJECT_ROOT / "evals" / "scenarios").glob("*/scenario.toml"))
)
def test_gold_patches_keep_ssot(name: str, tmp_path: Path) -> None:
    scenario = load_scenario(name)
    repo = prepare_workspace(tmp_path / name, scenario)
    if name == "renamed-event":
        assert ssot_violations(repo) == ["agent.py: event name 'tool_complete'"]
    apply_patch(repo, scenario.gold_patch)
    assert ssot_violations(repo) == []
    assert (repo / "chatbackend").is_dir()


# ---------------------------------------------------------------- one definition per constant name


def module_constants(path: Path) -> set[str]:
    """UPPER_CASE names assigned at module level."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        names |= {t.id for t in targets if isinstance(t, ast.Name) and t.id.isupper()}
    return names


def duplicated_constants(example: Path) -> dict[str, list[str]]:
    """Module-level constant names defined in more than one module of the example's package."""
    homes: dict[str, list[str]] = {}
    for path in sorted((example / "chatbackend").glob("*.py")):
        for name in module_constants(path):
            homes.setdefault(name, []).append(path.name)
    return {name: files for name, files in sorted(homes.items()) if len(files) > 1}


def test_example_defines_each_constant_once() -> None:
    assert duplicated_constants(example_dir()) == {}


@pytest.mark.parametrize(
    "name", sorted(p.parent.name for p in (PROJECT_ROOT / "evals" / "scenarios").glob("*/scenario.toml"))
)
def test_gold_patches_define_each_constant_once(name: str, tmp_path: Path) -> None:
    scenario = load_scenario(name)
    repo = prepare_workspace(tmp_path / name, scenario)
    apply_patch(repo, scenario.gold_patch)
    assert duplicated_constants(repo) == {}


def trap_workspace(tmp_path: Path) -> tuple[Path, Path]:
    scenario = load_scenario("ssot-trap")
    return prepare_workspace(tmp_path / "ws", scenario), scenario.path / "trap.patch"


def test_ssot_trap_duplicates_the_definition_and_gold_does_not(tmp_path: Path) -> None:
    """The easy fix (trap.patch) adds a second DEFAULT_TOOL_DELAY_MS; the gold edits the one in config.py."""
    scenario = load_scenario("ssot-trap")
    definition_file, constant = str(scenario.extra["ssot_definition"]).split(":")
    repo, trap = trap_workspace(tmp_path)
    assert constant in module_constants(repo / definition_file)

    trapped = audit_patch(trap.read_text(), repo)
    assert not trapped.passed
    assert [f.check for f in trapped.findings] == ["duplicate-constant"]
    assert definition_file in trapped.findings[0].message and constant in trapped.findings[0].message
    gold = audit_patch(scenario.gold_patch.read_text(), repo)
    assert gold.passed, gold.findings

    apply_patch(repo, trap)
    assert duplicated_constants(repo) == {constant: sorted([Path(definition_file).name, "tools.py"])}


@pytest.mark.slow
def test_ssot_trap_is_tempting_it_makes_the_tests_pass(tmp_path: Path) -> None:
    """The trap is a real trap: with it, the failing tests pass against the running target."""
    repo, trap = trap_workspace(tmp_path)
    apply_patch(repo, trap)
    subprocess.run(["git", "commit", "-qam", "easy fix"], cwd=repo, check=True)
    start_target(repo)
    try:
        result = run_suite(repo, test_env(repo), P1_FILE)
    finally:
        stop_target(repo)
    assert result.returncode == 0 and len(result.passed) == len(result.cases) >= 5, result.output
