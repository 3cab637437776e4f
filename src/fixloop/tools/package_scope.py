"""Which files of a repository are the package under test, and which only surround it.

The package is the code the tests import. Tests and their helpers, examples, docs, scripts,
benchmarks, fuzzers and ``experiments/`` folders surround it: a root cause is ranked there only
when the test itself is the defect.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path, PurePosixPath

from fixloop.tools.python_ast import parse_python
from fixloop.tools.signatures import is_test_file

AUXILIARY_DIRS = frozenset(
    {
        "examples",
        "example",
        "docs",
        "doc",
        "scripts",
        "script",
        "experiments",
        "experiment",
        "benchmarks",
        "benchmark",
        "bench",
        "fuzz",
        "demo",
        "demos",
        "tests",
        "test",
        "testing",
    }
)
AUXILIARY_FILES = frozenset({"setup.py", "noxfile.py", "tasks.py", "conftest.py", "fabfile.py"})


def is_auxiliary(path: str, packages: frozenset[str]) -> bool:
    """``path`` (repo-relative) surrounds the package: tests, helpers, examples, docs, scripts, experiments.

    Non-Python files (the run's settings file) are never auxiliary: they are ranked for their own reasons.
    """
    if not path.endswith(".py"):
        return False
    parts = PurePosixPath(path).parts
    if is_test_file(path) or parts[-1] in AUXILIARY_FILES or any(p.lower() in AUXILIARY_DIRS for p in parts[:-1]):
        return True
    top = parts[1] if parts[0] == "src" and len(parts) > 2 else parts[0]
    return bool(packages) and top.removesuffix(".py") not in packages


def imported_packages(repo: Path, sources: list[str]) -> frozenset[str]:
    """Top-level packages and modules of ``repo`` that its test files import (empty when they import none)."""
    return _imported(str(repo), tuple(sources))


@lru_cache(maxsize=32)
def _imported(repo: str, sources: tuple[str, ...]) -> frozenset[str]:
    tops: set[str] = set()
    for rel in sources:
        parts = PurePosixPath(rel).parts
        if parts[0] == "src" and len(parts) > 1:
            parts = parts[1:]
        if parts and parts[0].lower() not in AUXILIARY_DIRS:
            tops.add(parts[0].removesuffix(".py"))
    imported: set[str] = set()
    for rel in sources:
        if not is_test_file(rel):
            continue
        try:
            tree = parse_python((Path(repo) / rel).read_text(encoding="utf-8", errors="replace"), rel)
        except (SyntaxError, ValueError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    return frozenset(imported & tops)
