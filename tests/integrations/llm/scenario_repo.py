"""A tiny seeded-fault scenario in the layout of ``evals/scenarios/<name>/``, built with real git.

The target is a one-file "server" whose handshake answers 500 after the fault; ``gold.patch`` fixes it.
"""

from __future__ import annotations

import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

from fixloop.scenarios import Scenario

BASELINE = '''"""Handshake of the toy chat server."""

WS_PATH = "/ws"


def handshake_status(path: str) -> int:
    """101 when the WebSocket path is the configured one, 404 otherwise."""
    if path == WS_PATH:
        return 101
    return 404
'''

FAULTY = BASELINE.replace("        return 101\n", "        raise RuntimeError('session store missing')\n")

SCENARIO_TOML = """description = "the WebSocket handshake answers 500: handshake_status raises"
focus = "websockets"
expected_kinds = ["server-error"]
expected_file = "app/server.py"
expected_function = "handshake_status"
trigger = "a client opens /ws"
flaky = false
"""


@dataclass
class ScenarioRepo:
    scenario: Scenario
    repo: Path  # a git repo with the fault committed on top of the baseline
    baseline: str  # sha of the baseline commit


def git(repo: Path, *args: str, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=repo,
        input=input_text,
        capture_output=True,
        text=True,
        check=False,
    )


def make_scenario_repo(root: Path, name: str = "toy-handshake-500") -> ScenarioRepo:
    repo = root / "repo"
    (repo / "app").mkdir(parents=True)
    source = repo / "app" / "server.py"
    source.write_text(BASELINE)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "baseline")
    baseline = git(repo, "rev-parse", "HEAD").stdout.strip()
    source.write_text(FAULTY)
    fault_patch = git(repo, "diff").stdout
    git(repo, "commit", "-qam", "fault")
    source.write_text(BASELINE)
    gold_patch = git(repo, "diff").stdout
    git(repo, "checkout", "-q", "--", ".")

    folder = root / "scenarios" / name
    folder.mkdir(parents=True)
    (folder / "scenario.toml").write_text(SCENARIO_TOML)
    (folder / "fault.patch").write_text(fault_patch)
    (folder / "gold.patch").write_text(gold_patch)
    meta = tomllib.loads(SCENARIO_TOML)
    scenario = Scenario(name=name, path=folder, **meta)
    return ScenarioRepo(scenario=scenario, repo=repo, baseline=baseline)
