"""Parametrized variants a focus names through fixture params: ``test_x[h11]`` for focus ``h11``.

A fixture with ``params=["h11", "wsproto"]`` (usually in a ``conftest.py``) makes every test that requests it,
directly or through other fixtures, run once per param, with the param's id in its node id. The test file
itself need not say ``h11`` anywhere, so the static scan cannot see these variants. Here:

1. the fixtures whose params or ids mention the focus are found statically (``ast``), with the fixtures that
   request them, transitively;
2. the test files that name one of those fixtures are collected by the target's own pytest
   (``--collect-only -q``: one process for them all, and none when no fixture param mentions the focus);
3. the collected node ids whose parametrization (``[...]``) mentions the focus are the variants to select.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from fixloop.config import Settings
from fixloop.tools.focus import TermGroup, group_hits, tokens
from fixloop.tools.pytest_process import pytest_argv
from fixloop.tools.python_ast import parse_python
from fixloop.tools.static_scan import SKIP_DIRS, read_source

COLLECT_TIMEOUT = 120.0
CONFTEST = "conftest.py"


@dataclass
class FixtureDef:
    """A fixture as the source defines it: its name, the fixtures it requests, the ids of its params."""

    name: str
    requests: set[str] = field(default_factory=set)
    param_ids: list[str] = field(default_factory=list)


@dataclass
class Variants:
    """The parametrized variants of one test file that the focus names, and the fixtures behind them."""

    nodeids: list[str] = field(default_factory=list)
    fixtures: list[str] = field(default_factory=list)
    groups: set[str] = field(default_factory=set)


def focus_variants(
    repo: Path, test_files: list[str], roots: list[str], groups: list[TermGroup], settings: Settings
) -> dict[str, Variants]:
    """Per test file (repo-relative), its collected variants whose parametrization mentions the focus."""
    sources = {rel: read_source(repo, rel) for rel in _fixture_files(repo, roots, test_files)}
    parametrized = [d for rel, text in sources.items() if "params" in text for d in fixture_defs(text, rel)]
    focused = {d.name for d in parametrized if any(group_hits(g, i) for g in groups for i in d.param_ids)}
    if not focused:
        return {}  # the usual case: no parse beyond the files that parametrize a fixture, no collection
    defs = [d for rel, text in sources.items() for d in fixture_defs(text, rel)]
    requesting = fixture_closure(defs, focused)
    pattern = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, requesting))) + r")\b")
    candidates = [rel for rel in test_files if pattern.search(read_source(repo, rel))]
    found: dict[str, Variants] = {}
    for nodeid in collect_ids(repo, candidates, settings):
        params = parametrization(nodeid)
        hit = {g.name for g in groups if params and group_hits(g, params, tokens(params))}
        if hit:
            variants = found.setdefault(nodeid.split("::", 1)[0], Variants(fixtures=sorted(focused)))
            variants.nodeids.append(nodeid)
            variants.groups |= hit
    return found


def parametrization(nodeid: str) -> str:
    """The ``[...]`` part of a node id (empty when the test is not parametrized)."""
    last = nodeid.rsplit("::", 1)[-1]
    return last[last.index("[") + 1 : -1] if "[" in last and last.endswith("]") else ""


def fixture_closure(defs: list[FixtureDef], names: set[str]) -> set[str]:
    """``names`` and every fixture that requests one of them, transitively."""
    closure = set(names)
    grown = True
    while grown:
        grown = False
        for d in defs:
            if d.name not in closure and d.requests & closure:
                closure.add(d.name)
                grown = True
    return closure


def fixture_defs(source: str, path: str = "<source>") -> list[FixtureDef]:
    """The fixtures ``source`` defines (module level and in classes), with their params' ids."""
    try:
        tree = parse_python(source, path)
    except (SyntaxError, ValueError):
        return []
    found: list[FixtureDef] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            if not _is_fixture(decorator):
                continue
            keywords = {k.arg: k.value for k in decorator.keywords} if isinstance(decorator, ast.Call) else {}
            name = keywords.get("name")
            fixture = FixtureDef(
                name=name.value if isinstance(name, ast.Constant) and isinstance(name.value, str) else node.name,
                requests={a.arg for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]},
            )
            fixture.requests.discard("request")
            fixture.param_ids = _param_ids(keywords.get("params"), keywords.get("ids"))
            found.append(fixture)
    return found


def _is_fixture(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (isinstance(target, ast.Attribute) and target.attr == "fixture") or (
        isinstance(target, ast.Name) and target.id == "fixture"
    )


def _param_ids(params: ast.expr | None, ids: ast.expr | None) -> list[str]:
    """What a fixture's params are called: its ``ids`` strings, ``pytest.param(..., id=)``, the literal values."""
    out: list[str] = []
    if isinstance(ids, ast.List | ast.Tuple):
        out += [e.value for e in ids.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    if isinstance(params, ast.List | ast.Tuple):
        for element in params.elts:
            if isinstance(element, ast.Call):  # pytest.param(value, id="...")
                given = next((k.value for k in element.keywords if k.arg == "id"), None)
                element = given if given is not None else (element.args[0] if element.args else element)
            if isinstance(element, ast.Constant) and element.value is not None:
                value = element.value
                out.append(value.decode("ascii", "replace") if isinstance(value, bytes) else str(value))
    return out


def _fixture_files(repo: Path, roots: list[str], test_files: list[str]) -> list[str]:
    """The conftest files under the test roots (and the repo root's), then the test files (fixtures live there too)."""
    bases = [repo / r for r in roots if (repo / r).is_dir()] or [repo]
    conftests = {CONFTEST} if (repo / CONFTEST).is_file() else set()
    for base in bases:
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
            if CONFTEST in filenames:
                conftests.add(Path(dirpath, CONFTEST).relative_to(repo).as_posix())
    with_fixtures = [rel for rel in test_files if "fixture" in read_source(repo, rel)]
    return sorted(conftests) + with_fixtures


def collect_ids(repo: Path, files: list[str], settings: Settings) -> list[str]:
    """The node ids the target's pytest collects from ``files`` (none when collection fails or times out)."""
    if not files:
        return []
    prefix, _ = pytest_argv(repo, settings)
    env = {**os.environ, **settings.target.env}
    env.pop("PYTEST_ADDOPTS", None)
    command = [*prefix, "--collect-only", "-q", "-p", "no:cacheprovider", *files]
    try:
        done = subprocess.run(
            command, cwd=repo, env=env, capture_output=True, text=True, timeout=COLLECT_TIMEOUT, check=False,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in done.stdout.splitlines() if "::" in line and not line.startswith(" ")]
