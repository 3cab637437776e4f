"""The fixer's code context: excerpts within a token budget that still hold the lines a fix changes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from fixloop.agents.code_context import code_context
from fixloop.config import LLMSettings
from fixloop.records import EvidenceBundle, FiveWhys, Location
from fixloop.scenarios import Scenario, list_scenarios, prepare_workspace
from fixloop.tools.worktree import parse_patch, strip_diff_prefix

MODULE = '''"""A service module."""

import os

LIMIT = 32  # the constant the fix changes
UNUSED = "not used by load"
OTHER = 1


def helper() -> int:
    return OTHER


def load(env: dict[str, str]) -> str:
    """Read the secret."""
    value = env["SECRET"]
    return value[:LIMIT]
''' + "".join(f"\n\ndef filler_{n}() -> int:\n    return {n}\n" for n in range(60))


def excerpt_text(context: list[dict[str, Any]], path: str) -> str:
    return "\n".join(part["text"] for f in context if f["path"] == path for part in f["excerpts"])


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "service.py").write_text(MODULE)
    (tmp_path / "app" / "settings.toml").write_text("".join(f"key_{n} = {n}\n" for n in range(100)))
    return tmp_path


def test_the_fix_location_function_and_the_constants_it_uses_not_the_whole_file(repo: Path) -> None:
    context = code_context(repo, FiveWhys(fix_location="app/service.py:load"), EvidenceBundle(category_id="c"), 400)
    text = excerpt_text(context, "app/service.py")
    assert 'value = env["SECRET"]' in text and "return value[:LIMIT]" in text
    assert "LIMIT = 32" in text  # a module constant the function uses: a fix often changes it
    assert "filler_30" not in text and len(text) < len(MODULE) / 4
    (service,) = context
    lines = MODULE.splitlines()
    for part in service["excerpts"]:  # verbatim lines, with the file's own line numbers
        assert part["text"] == "\n".join(lines[part["start"] - 1 : part["end"]])


def test_ranked_locations_follow_while_the_budget_lasts(repo: Path) -> None:
    bundle = EvidenceBundle(
        category_id="c",
        locations=[
            Location(file="app/service.py", line=10, function="helper", score=2.0),
            Location(file="app/settings.toml", line=50, score=1.0),
        ],
    )
    chain = FiveWhys(fix_location="app/service.py:load")
    wide = code_context(repo, chain, bundle, 2000)
    assert "return OTHER" in excerpt_text(wide, "app/service.py")
    assert "key_50 = 50" in excerpt_text(wide, "app/settings.toml")  # not Python: the lines around it
    assert "key_90" not in excerpt_text(wide, "app/settings.toml")
    narrow = code_context(repo, chain, bundle, 120)
    assert "return value[:LIMIT]" in excerpt_text(narrow, "app/service.py")  # the most wanted first
    assert excerpt_text(narrow, "app/settings.toml") == ""
    size = sum(math.ceil(len(p["text"]) / 4) + 12 for f in narrow for p in f["excerpts"])
    assert size <= 120


def test_a_function_larger_than_the_budget_shows_its_head(repo: Path) -> None:
    big = "def huge() -> None:\n" + "".join(f"    x_{n} = {n}\n" for n in range(400))
    (repo / "app" / "big.py").write_text(big)
    context = code_context(repo, FiveWhys(fix_location="app/big.py:huge"), EvidenceBundle(category_id="c"), 300)
    text = excerpt_text(context, "app/big.py")
    assert text.startswith("def huge() -> None:") and "x_1 = 1" in text and "x_399" not in text


def test_paths_outside_the_repository_are_not_read(repo: Path) -> None:
    chain = FiveWhys(fix_location="../outside.py:f")
    bundle = EvidenceBundle(category_id="c", locations=[Location(file=".git/config", score=1.0)])
    assert code_context(repo, chain, bundle, 1000) == []


def _scenarios_with_gold() -> list[Scenario]:
    return [s for s in list_scenarios() if s.gold_patch.is_file()]


@pytest.mark.parametrize("scenario", _scenarios_with_gold(), ids=lambda s: s.name)
def test_the_context_of_the_fix_location_holds_every_line_the_gold_patch_changes_there(
    scenario: Scenario, tmp_path: Path
) -> None:
    workspace = prepare_workspace(tmp_path / "workspace", scenario)
    where = scenario.expected_file + (f":{scenario.expected_function}" if scenario.expected_function else "")
    budget = LLMSettings().fix_context_tokens
    context = code_context(workspace, FiveWhys(fix_location=where), EvidenceBundle(category_id="c"), budget)
    text = excerpt_text(context, scenario.expected_file)
    changed = [
        line.value.strip()
        for patched in parse_patch(scenario.gold_patch.read_text(encoding="utf-8"))
        if strip_diff_prefix(patched.source_file) == scenario.expected_file
        for hunk in patched
        for line in hunk
        if line.is_removed and line.value.strip()
    ]
    assert changed, "the gold patch changes the expected file"
    assert [line for line in changed if line not in text] == []
