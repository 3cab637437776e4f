"""Autonomy levels: a run stops where asked; `stop-at` lowers a live run and never raises it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fixloop.autonomy import effective_level, level_for, lower_stop_at, lowest
from fixloop.config import load_settings
from fixloop.demo import run_demo
from fixloop.errors import UsageError
from fixloop.integrations.codehost import build_codehost
from fixloop.integrations.codehost.local import LocalCodeHost
from fixloop.state import RunInfo
from tests.conftest import CliRunner


@pytest.fixture
def out(demo_out: Path) -> Path:
    """The run's output folder (``demo_out``: its demo target is stopped afterwards)."""
    return demo_out


def _run_json(out: Path) -> dict[str, Any]:
    return json.loads((out / "run.json").read_text(encoding="utf-8"))


def _category(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["iterations"][0]["categories"][0]


def test_levels_come_from_settings_per_focus(tmp_path: Path) -> None:
    config = tmp_path / "fixloop.toml"
    config.write_text('[autonomy]\ndefault = "patch"\n[autonomy.focus]\nwebsockets = "merge"\n', encoding="utf-8")
    settings = load_settings(config_file=config)
    assert level_for(settings, "websockets") == "merge"
    assert level_for(settings, "billing") == "patch"
    assert level_for(load_settings(tmp_path / "elsewhere"), "websockets") == "pr"  # the default for `run`
    assert lowest("merge", "patch", "pr") == "patch"


def test_a_bad_level_in_settings_is_a_config_error(tmp_path: Path, run_cli: CliRunner) -> None:
    (tmp_path / "fixloop.toml").write_text('[autonomy]\ndefault = "yolo"\n', encoding="utf-8")
    proc = run_cli("select", "--repo", str(tmp_path), "--focus", "websockets")
    assert proc.returncode != 0
    assert "autonomy.default" in proc.stderr and "Traceback" not in proc.stderr


def test_a_lowered_level_wins_over_the_starting_level(tmp_path: Path) -> None:
    run = RunInfo(thread_id="t", repo=str(tmp_path), focus="f", out_dir=str(tmp_path), stop_at="merge")
    assert effective_level(run) == "merge"
    (tmp_path / "stop-at.json").write_text('{"level": "patch"}', encoding="utf-8")
    assert effective_level(run) == "patch"
    assert effective_level(run.model_copy(update={"stop_at": "diagnose"})) == "diagnose"


@pytest.mark.slow
def test_stop_at_diagnose_proposes_no_patch(out: Path, run_cli: CliRunner) -> None:
    result = run_demo(llm="scripted", out=out, stop_at="diagnose")
    doc = _run_json(out)
    assert doc["status"] == "diagnosed" and "--stop-at diagnose" in doc["outcome"]
    category = _category(doc)
    assert category["five_whys"]["steps"] and category["attempts"] == [] and category["pr"] is None
    assert doc["autonomy"] == {"started_at_level": "diagnose", "level": "diagnose"}
    # an ended run cannot be raised, and the refusal says so
    proc = run_cli("stop-at", result.thread_id, "merge")
    assert proc.returncode != 0
    assert "raising it to merge is not allowed, only lowering" in proc.stderr


@pytest.mark.slow
def test_stop_at_patch_validates_but_opens_no_pr(out: Path) -> None:
    run_demo(llm="scripted", out=out, stop_at="patch")
    doc = _run_json(out)
    assert doc["status"] == "diagnosed" and "stopped before PRs" in doc["outcome"]
    category = _category(doc)
    assert category["fix"]["validated"] is True and category["pr"] is None
    assert doc["prs"] == []
    stress = category["attempts"][-1]["stress"]
    assert stress["runs"] == 5 and all(not r["failing"] for r in stress["results"])  # 5 green re-runs before a PR
    assert doc["fixability"][0]["reached"] == "patch"


class LowerWhenDiagnosed:
    """A notifier (the run's progress channel) through which a person lowers the run once it is diagnosed."""

    def __init__(self, level: str) -> None:
        self.level = level
        self.answers: list[str] = []
        self.texts: list[str] = []

    def post(self, thread_id: str, text: str, *, kind: str = "progress") -> None:
        self.texts.append(text)
        if text.startswith("categories:") and not self.answers:
            self.answers.append(lower_stop_at(thread_id, self.level))
            with pytest.raises(UsageError, match="raising it to merge is not allowed, only lowering"):
                lower_stop_at(thread_id, "merge")


@pytest.mark.slow
def test_a_run_lowered_to_pr_mid_run_opens_prs_and_does_not_wait_to_merge(out: Path) -> None:
    person = LowerWhenDiagnosed("pr")
    result = run_demo(llm="scripted", out=out, requested_by="carol", notifier=person)  # the demo goes up to merge
    assert person.answers and "lowered from merge to pr" in person.answers[0]
    doc = _run_json(out)
    assert doc["status"] == "diagnosed" and "stopped before merge" in doc["outcome"]
    assert [pr["state"] for pr in doc["prs"]] == ["open"]
    assert doc["approvals"] == [] and doc["deploys"] == []
    assert doc["autonomy"] == {"started_at_level": "merge", "level": "pr"}
    assert not result.target_running
    assert not any(kind for kind in person.texts if "PRs ready for approval" in kind)
    # the PR body, run.json and the worklog carry the fixability score, its parts, levels and stress re-runs
    host = build_codehost(load_settings(result.workspace), result.workspace)
    assert isinstance(host, LocalCodeHost), host
    body = host.store.read().get(doc["prs"][0]["number"]).body
    assert "## Trust" in body and "**Fixability**" in body and "re-runs green" in body
    score = doc["fixability"][0]
    assert score["reached"] == "pr" and score["allowed"] in ("pr", "merge") and score["parts"]["stress"] == 1.0
    worklog = (out / "worklog.md").read_text(encoding="utf-8")
    assert "## Trust controls" in worklog and "now **pr**" in worklog and "sha256" in worklog
