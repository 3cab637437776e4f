"""Seeded-fault scenarios (``evals/scenarios/<name>/``) and work folders made from the example."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fixloop.errors import ConfigError, FixloopError, UsageError
from fixloop.paths import project_root

EXAMPLE_NAME = "chatbackend"
DEFAULT_SCENARIO = "handshake-500"
IGNORED_WHEN_COPYING = (".fixloop", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".git", "*.pyc")
GIT_IDENTITY = (("user.name", "fixloop"), ("user.email", "fixloop@localhost"))
_KNOWN_KEYS = {"description", "focus", "expected_kinds", "expected_file", "expected_function", "trigger", "flaky"}


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


def _root() -> Path:
    root = project_root()
    if root is None:
        raise UsageError(
            "the fixloop source checkout (examples/, evals/) was not found",
            hint="run from a clone or set FIXLOOP_PROJECT_ROOT",
        )
    return root


def scenarios_dir() -> Path:
    return _root() / "evals" / "scenarios"


def example_dir() -> Path:
    return _root() / "examples" / EXAMPLE_NAME


def list_scenarios() -> list[Scenario]:
    folder = scenarios_dir()
    if not folder.is_dir():
        return []
    return [_load(path) for path in sorted(folder.iterdir()) if (path / "scenario.toml").is_file()]


def load_scenario(name: str) -> Scenario:
    """The scenario called ``name`` (or the folder at absolute path ``name``); UsageError listing the known
    names when there is none."""
    if Path(name).is_absolute() and (Path(name) / "scenario.toml").is_file():
        return _load(Path(name))  # a scenario folder written at run time (the real-project eval's cases)
    path = scenarios_dir() / name
    if name and "/" not in name and (path / "scenario.toml").is_file():
        return _load(path)
    known = ", ".join(s.name for s in list_scenarios()) or "none"
    raise UsageError(f"unknown scenario {name!r}", hint=f"known scenarios: {known}")


def _load(path: Path) -> Scenario:
    toml_file = path / "scenario.toml"
    try:
        data: dict[str, Any] = tomllib.loads(toml_file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{toml_file}: cannot be read: {exc}") from None
    missing = [key for key in ("description", "focus", "expected_kinds", "expected_file") if key not in data]
    if missing:
        raise ConfigError(f"{toml_file}: missing key(s) {', '.join(missing)}")
    kinds = data["expected_kinds"]
    if not isinstance(kinds, list) or not all(isinstance(kind, str) for kind in kinds):
        raise ConfigError(f"{toml_file}: key 'expected_kinds' must be a list of strings")
    return Scenario(
        name=path.name,
        path=path,
        description=str(data["description"]),
        focus=str(data["focus"]),
        expected_kinds=list(kinds),
        expected_file=str(data["expected_file"]),
        expected_function=str(data.get("expected_function", "")),
        trigger=str(data.get("trigger", "")),
        flaky=bool(data.get("flaky", False)),
        extra={key: value for key, value in data.items() if key not in _KNOWN_KEYS},
    )


def prepare_workspace(dest: Path, scenario: Scenario | None) -> Path:
    """Copy examples/chatbackend to ``dest``, make it a git repo (commit "baseline"), apply the
    scenario's fault as a second commit, and return ``dest``."""
    dest = dest.expanduser().resolve()
    if dest.exists() and any(dest.iterdir()):
        raise UsageError(f"work folder {dest} is not empty", hint="pass a new or empty folder")
    shutil.copytree(example_dir(), dest, ignore=shutil.ignore_patterns(*IGNORED_WHEN_COPYING), dirs_exist_ok=True)
    git(dest, "init", "-q", "-b", "main")
    for key, value in GIT_IDENTITY:
        git(dest, "config", key, value)
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "baseline")
    if scenario is not None:
        apply_patch(dest, scenario.fault_patch)
        git(dest, "add", "-A")
        git(dest, "commit", "-q", "-m", fault_commit_message(scenario))
    return dest


NEUTRAL_FAULT_MESSAGE = "Refactor chatbackend"


def fault_commit_message(scenario: Scenario) -> str:
    """The fault's commit message: neutral, like a real developer's, never the scenario's description.

    The description states the bug; were it in ``git log``, the localizer and the five whys would
    read the answer from the history and the evals would measure nothing.
    """
    message = scenario.extra.get("commit_message", NEUTRAL_FAULT_MESSAGE)
    return str(message)


def apply_patch(repo: Path, patch: Path) -> None:
    """``git apply`` ``patch`` in ``repo`` (working tree only); a clear error when it does not apply."""
    if not patch.is_file():
        raise UsageError(f"patch {patch} does not exist")
    done = subprocess.run(
        ["git", "apply", "--whitespace=nowarn", str(patch)], cwd=repo, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise FixloopError(f"patch {patch} does not apply in {repo}: {done.stderr.strip()}")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise FixloopError(f"git {' '.join(args)} failed in {repo}: {done.stderr.strip()}")
    return done.stdout
