"""Quarantine, not a fix: a PR that only marks flaky tests with the repo's own flaky marker.

Opt-in (``[autonomy] quarantine_flaky``). The marker must be registered by the repo itself
(pytest.ini / tox.ini ``[pytest]``, setup.cfg ``[tool:pytest]``, pyproject ``[tool.pytest.ini_options]``
``markers``, or ``config.addinivalue_line("markers", ...)`` in a conftest.py): fixloop never invents
one, so a repo without it gets a report and no PR.
"""

from __future__ import annotations

import configparser
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from fixloop.state import Investigation, RerunRecord
from fixloop.tools.worktree import commit_all, create_worktree, remove_worktree

MARKER_NAMES = ("flaky", "quarantine", "quarantined")
QUARANTINE = "quarantine, not a fix"
_INI_FILES = (("pytest.ini", "pytest"), ("tox.ini", "pytest"), ("setup.cfg", "tool:pytest"))
_CONFTEST_MARKER = re.compile(r"""addinivalue_line\(\s*["']markers["']\s*,\s*[rf]?["'](?P<name>[A-Za-z_]\w*)""")
_MARKER_NAME = re.compile(r"\s*(?P<name>[A-Za-z_]\w*)")
_SKIP_DIRS = {".git", ".venv", "venv", "node_modules", ".fixloop", ".tox"}


@dataclass
class QuarantinePlan:
    marker: str
    registered_in: str
    edits: dict[str, str] = field(default_factory=dict)  # repo-relative file -> its new text
    marked: list[str] = field(default_factory=list)  # tests this plan marks
    left: list[str] = field(default_factory=list)  # "<test>: why it is not marked"


def flaky_marker(repo: Path) -> tuple[str, str] | None:
    """The repo's registered flaky marker and where it is registered, or None."""
    registered = registered_markers(repo)
    return next(((name, registered[name]) for name in MARKER_NAMES if name in registered), None)


def registered_markers(repo: Path) -> dict[str, str]:
    """Marker name -> the file that registers it (ini files, pyproject, conftest.py files)."""
    found: dict[str, str] = {}
    for name, section in _INI_FILES:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(repo / name, encoding="utf-8")
        except configparser.Error:
            continue
        for line in parser.get(section, "markers", fallback="").splitlines():
            if match := _MARKER_NAME.match(line):
                found.setdefault(match["name"], name)
    try:
        pyproject = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        pyproject = {}
    for line in pyproject.get("tool", {}).get("pytest", {}).get("ini_options", {}).get("markers", []):
        if isinstance(line, str) and (match := _MARKER_NAME.match(line)):
            found.setdefault(match["name"], "pyproject.toml")
    for conftest in sorted(repo.rglob("conftest.py")):
        if _SKIP_DIRS & set(conftest.relative_to(repo).parts):
            continue
        for match in _CONFTEST_MARKER.finditer(conftest.read_text(encoding="utf-8", errors="replace")):
            found.setdefault(match["name"], str(conftest.relative_to(repo)))
    return found


def plan_quarantine(repo: Path, tests: list[str]) -> QuarantinePlan | None:
    """The edits that mark ``tests`` with the repo's flaky marker (None when the repo registers none)."""
    marker = flaky_marker(repo)
    if marker is None:
        return None
    plan = QuarantinePlan(marker=marker[0], registered_in=marker[1])
    for test in tests:
        path, _, rest = test.partition("::")
        function = re.sub(r"\[.*\]$", "", rest.split("::")[-1])
        text = plan.edits.get(path)
        if text is None:
            try:
                text = (repo / path).read_text(encoding="utf-8")
            except OSError:
                plan.left.append(f"{test}: {path} cannot be read")
                continue
        marked, why = _mark(text, function, plan.marker)
        if marked is None:
            plan.left.append(f"{test}: {why}")
            continue
        plan.edits[path] = marked
        plan.marked.append(test)
    return plan


def _mark(text: str, function: str, marker: str) -> tuple[str | None, str]:
    if not re.search(r"^import pytest\b", text, re.M):
        return None, "its file does not import pytest"
    match = re.search(rf"^(?P<indent>[ \t]*)(?:async[ \t]+)?def[ \t]+{re.escape(function)}[ \t]*\(", text, re.M)
    if match is None:
        return None, f"no function {function} in its file"
    lines = text[: match.start()].splitlines()
    decorators = []
    while lines and lines[-1].strip().startswith("@"):
        decorators.append(lines.pop())
    if any(f"mark.{marker}" in line for line in decorators):
        return None, f"already marked {marker}"
    return f"{text[: match.start()]}{match['indent']}@pytest.mark.{marker}\n{text[match.start() :]}", ""


def quarantine_title(inv: Investigation, plan: QuarantinePlan) -> str:
    count = len(plan.marked)
    return (
        f"fixloop: {QUARANTINE}: mark {count} flaky test{'s' if count != 1 else ''} {plan.marker} [{inv.category.id}]"
    )


def quarantine_body(run_id: str, inv: Investigation, plan: QuarantinePlan, reruns: list[RerunRecord]) -> str:
    """The PR body: says first and plainly that this quarantines and fixes nothing; the re-runs as evidence."""
    from fixloop.agents.worklog_sections import five_whys_markdown

    lines = [
        f"**{QUARANTINE.capitalize()}.** fixloop found these tests flaky in run `{run_id}` (category "
        f"`{inv.category.id}`): they failed, then passed when re-run on the same commit. This PR only marks them "
        f"with the repo's own `{plan.marker}` marker (registered in `{plan.registered_in}`). The cause is not "
        "fixed and still needs a fix; like any PR this one needs a human approval.",
        "",
        "## Tests marked",
        *(f"- `{t}`" for t in plan.marked),
        *(f"- not marked: {why}" for why in plan.left),
        "",
        "## Evidence: re-runs on the same commit",
    ]
    for rerun in reruns:
        outcomes = ", ".join(f"`{t}` {o}" for t, o in rerun.outcomes.items() if t in inv.category.tests)
        lines.append(f"- re-run {rerun.rerun}: {outcomes or 'not re-run'}")
    lines += ["", "## Five whys", five_whys_markdown(inv)]
    return "\n".join(lines) + "\n"


def commit_quarantine(repo: Path, branch: str, plan: QuarantinePlan, worktree: Path, message: str) -> str:
    """Commit the plan's edits on ``branch`` (from HEAD) in a throw-away worktree; return the commit sha."""
    worktree.parent.mkdir(parents=True, exist_ok=True)
    create_worktree(repo, branch, worktree)
    try:
        for path, text in plan.edits.items():
            (worktree / path).write_text(text, encoding="utf-8")
        return commit_all(worktree, message)
    finally:
        remove_worktree(repo, worktree)


def no_quarantine_note(inv: Investigation, plan: QuarantinePlan | None) -> str:
    """Why no quarantine PR was opened for ``inv`` (for the outcome and the worklog)."""
    if plan is None:
        where = "pytest.ini, tox.ini, setup.cfg, pyproject.toml or a conftest.py"
        names = "/".join(MARKER_NAMES)
        return f"no quarantine PR for {inv.category.id}: the repo registers no flaky marker ({names} in {where})"
    return f"no quarantine PR for {inv.category.id}: nothing to mark ({'; '.join(plan.left) or 'no test'})"
