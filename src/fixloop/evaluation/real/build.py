"""Build one real case: a git workspace of the pinned release with the fault committed, and check it reproduces.

The workspace is the unpacked sdist plus a ``fixloop.toml`` (test paths, the project's venv, its
``PYTHONPATH``), committed as "Import <package> <version>"; the fault's edits follow as a neutral
commit ("Refactor <package>"), so the history does not give the answer away (see NOTES.md).

Reproduction: the faulted tree's run of the case's tests must have failures, and every one of them
must pass in the clean tree (a baseline run per project, cached). A case that does not reproduce is
reported as such and never scored.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from fixloop.config import load_settings
from fixloop.errors import FixloopError
from fixloop.evaluation.real.cache import project_lock, project_python, source_tree
from fixloop.evaluation.real.recipes import Edit, RealCase, RealProject
from fixloop.records import TestRun
from fixloop.scenarios import GIT_IDENTITY, IGNORED_WHEN_COPYING, git
from fixloop.tools.run_tests import run_tests

FAILED = ("failed", "error")
FLAKY_ATTEMPTS = 10  # a fault failing half the runs escapes ten with p < 0.1 %


@dataclass
class BuiltCase:
    repo: Path
    reproduced: bool
    fault_failing: list[str] = field(default_factory=list)  # tests the fault makes fail (clean tree passes them)
    note: str = ""


def build_case(project: RealProject, case: RealCase, workspace: Path, cache: Path) -> BuiltCase:
    """Make ``workspace`` (must not exist or be empty) and check the case reproduces."""
    with project_lock(cache, project):
        tree = source_tree(cache, project)
        python = project_python(cache, project)
        baseline = _baseline(project, tree, python, cache)
    repo = make_workspace(project, tree, python, workspace)
    apply_edits(repo, case.edits)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"Refactor {project.package}")
    return _check(project, case, repo, baseline)


def make_workspace(project: RealProject, tree: Path, python: Path, workspace: Path) -> Path:
    """The clean tree as a git repo with its ``fixloop.toml``, one commit."""
    repo = workspace.expanduser().resolve()
    if repo.exists() and any(repo.iterdir()):
        raise FixloopError(f"work folder {repo} is not empty")
    shutil.copytree(
        tree, repo, ignore=shutil.ignore_patterns(*IGNORED_WHEN_COPYING, ".fixloop-ready"), dirs_exist_ok=True
    )
    (repo / "fixloop.toml").write_text(fixloop_toml(project, python), encoding="utf-8")
    apply_edits(repo, project.prepare)
    git(repo, "init", "-q", "-b", "main")
    for key, value in GIT_IDENTITY:
        git(repo, "config", key, value)
    exclude = repo / ".git" / "info" / "exclude"
    exclude.write_text(exclude.read_text(encoding="utf-8") + "\n.fixloop/\n__pycache__/\n*.pyc\n", encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"Import {project.package} {project.version}")
    return repo


def fixloop_toml(project: RealProject, python: Path) -> str:
    paths = ", ".join(json.dumps(p) for p in project.test_paths)
    return (
        "# written by fixloop's real-project eval builder\n"
        "[tests]\n"
        f"paths = [{paths}]\n"
        f"interpreter = {json.dumps(str(python))}\n"
        f"timeout = {project.timeout:g}\n"
        "run_timeout = 600\n\n"
        "[target]\n"
        f"service_name = {json.dumps(project.package)}\n"
        "server = false  # a library: its tests start what they need; a fix's validation starts no target\n"
        f"env = {{ PYTHONPATH = {json.dumps(project.import_path)} }}\n"
    )


def apply_edits(repo: Path, edits: list[Edit]) -> None:
    """Each edit's ``old`` text must occur exactly once in its file."""
    for edit in edits:
        path = repo / edit.file
        if not path.is_file():
            raise FixloopError(f"fault edit: {edit.file} does not exist in the release")
        text = path.read_text(encoding="utf-8")
        count = text.count(edit.old)
        if count != 1:
            raise FixloopError(f"fault edit: the old text occurs {count} times in {edit.file}, not once")
        path.write_text(text.replace(edit.old, edit.new), encoding="utf-8")


def _baseline(project: RealProject, tree: Path, python: Path, cache: Path) -> dict[str, str]:
    """Outcome per test id of the clean tree's whole suite (cached per project and version)."""
    stored = cache / "baselines" / f"{project.key}.json"
    if stored.exists():
        data: dict[str, str] = json.loads(stored.read_text(encoding="utf-8"))
        return data
    folder = cache / "baselines" / f".{project.key}"
    shutil.rmtree(folder, ignore_errors=True)
    repo = make_workspace(project, tree, python, folder / "repo")
    run = _run(repo, project.test_paths, folder / "out")
    outcomes: dict[str, str] = {r.nodeid: r.outcome for r in run.results}
    if not outcomes:
        raise FixloopError(f"the clean {project.key} suite collected no test: {run.stdout_tail[-300:]}")
    stored.write_text(json.dumps(outcomes, indent=1, sort_keys=True), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    return outcomes


def _run(repo: Path, targets: list[str], out: Path) -> TestRun:
    return run_tests(repo, targets, load_settings(repo), env={}, out_dir=out)


def _check(project: RealProject, case: RealCase, repo: Path, baseline: dict[str, str]) -> BuiltCase:
    targets = case.tests or project.test_paths
    attempts = FLAKY_ATTEMPTS if case.flaky else 1
    failing: list[str] = []
    broken: list[str] = []  # failing with and without the fault: not the fault's
    for attempt in range(1, attempts + 1):
        run = _run(repo, targets, repo.parent / f"reproduce-{attempt}")
        failing, broken = _split(_failing(run, baseline), baseline)
        if failing:
            break
    already = f"; {len(broken)} failing on the clean tree too, e.g. {broken[0]}" if broken else ""
    if not failing:
        return BuiltCase(
            repo, False, note=f"no test fails with the fault and passes without it ({attempts} run(s)){already}"
        )
    return BuiltCase(
        repo, True, failing, note=f"{len(failing)} test(s) fail with the fault and pass without it{already}"
    )


def _failing(run: TestRun, baseline: dict[str, str]) -> list[str]:
    """Failed tests, and for an import-time fault the clean run's tests of the modules that no longer import."""
    failing = {r.nodeid for r in run.results if r.outcome in FAILED}
    for error in run.collection_errors:
        failing.update(t for t in baseline if t.split("::")[0] in error)
    return sorted(failing)


def _split(failing: list[str], baseline: dict[str, str]) -> tuple[list[str], list[str]]:
    """The fault's failing tests (they pass on the clean tree) and the others."""
    return [t for t in failing if baseline.get(t) == "passed"], [t for t in failing if baseline.get(t) != "passed"]
