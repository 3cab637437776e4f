"""Read test files without importing them: names, docstrings, markers, imports, string literals.

Works when ``pytest --collect-only`` would fail (missing deps, import errors): only ``ast`` runs.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from pathlib import Path

from fixloop.tools.python_ast import parse_python

SKIP_DIRS = frozenset(
    {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".nox", "site-packages", ".mypy_cache", ".fixloop"}
)
MAX_STRING = 200  # longer literals are prose or data, not URLs or event names


@dataclass
class TestDef:
    """One test function, as pytest would name it (without parametrization)."""

    __test__ = False

    nodeid: str
    name: str
    doc: str = ""
    markers: list[str] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)


@dataclass
class FileScan:
    """What a test file says about itself."""

    path: str  # relative to the repo, posix
    doc: str = ""
    imports: list[str] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)  # module-level pytestmark and class markers
    strings: list[str] = field(default_factory=list)  # module-level literals
    tests: list[TestDef] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    opaque_bases: bool = False  # a test class inherits from a class defined elsewhere (tests we cannot see)
    syntax_error: str = ""


def is_test_file(name: str) -> bool:
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def find_test_files(repo: Path, roots: list[str]) -> list[str]:
    """Repo-relative posix paths of every test file under ``roots`` (the repo itself when none exist)."""
    bases = [repo / r for r in roots if (repo / r).is_dir()] or [repo]
    found: list[str] = []
    for base in bases:
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
            for name in sorted(filenames):
                if is_test_file(name):
                    found.append(Path(dirpath, name).relative_to(repo).as_posix())
    return found


def _marker_name(node: ast.expr) -> str | None:
    """``pytest.mark.NAME`` or ``pytest.mark.NAME(...)`` -> NAME."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "mark":
        return node.attr
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "mark":
        return node.attr
    return None


def _markers(decorators: list[ast.expr]) -> list[str]:
    return [m for m in (_marker_name(d) for d in decorators) if m]


def _strings(node: ast.AST) -> list[str]:
    out = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and 0 < len(sub.value) <= MAX_STRING:
            out.append(sub.value)
    return out


def _pytestmark(stmt: ast.stmt) -> list[str]:
    if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in stmt.targets):
        value = stmt.value
        items = value.elts if isinstance(value, ast.List | ast.Tuple) else [value]
        return [m for m in (_marker_name(i) for i in items) if m]
    return []


def _is_test_func(node: ast.stmt) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")


def scan_source(path: str, source: str) -> FileScan:
    """Scan one file's source text; a syntax error is recorded, never raised."""
    scan = FileScan(path=path)
    try:
        tree = parse_python(source, path)
    except (SyntaxError, ValueError) as exc:
        scan.syntax_error = f"{type(exc).__name__}: {exc}"
        scan.strings = [source[:MAX_STRING]]
        return scan
    scan.doc = ast.get_docstring(tree) or ""
    local_classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    for stmt in tree.body:
        if isinstance(stmt, ast.Import):
            scan.imports.extend(a.name for a in stmt.names)
        elif isinstance(stmt, ast.ImportFrom):
            mod = stmt.module or ""
            scan.imports.append(mod)
            scan.imports.extend(f"{mod}.{a.name}" if mod else a.name for a in stmt.names)
        elif isinstance(stmt, ast.Assign):
            scan.markers.extend(_pytestmark(stmt))
            scan.strings.extend(_strings(stmt))
        elif _is_test_func(stmt):
            assert isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)
            scan.tests.append(_test_def(f"{path}::{stmt.name}", stmt, []))
        elif isinstance(stmt, ast.ClassDef) and stmt.name.startswith("Test"):
            scan.classes.append(stmt.name)
            class_markers = _markers(stmt.decorator_list)
            class_doc = ast.get_docstring(stmt) or ""
            for base in stmt.bases:
                name = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else ""
                if name not in local_classes and name not in {"object", "TestCase", "IsolatedAsyncioTestCase"}:
                    scan.opaque_bases = True
            for member in stmt.body:
                if _is_test_func(member):
                    assert isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef)
                    test = _test_def(f"{path}::{stmt.name}::{member.name}", member, class_markers)
                    test.doc = (test.doc + "\n" + class_doc).strip()
                    scan.tests.append(test)
                elif isinstance(member, ast.Assign):
                    scan.strings.extend(_strings(member))
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            scan.strings.extend(_strings(stmt))  # helpers and fixtures: their URLs and event names count for the file
    return scan


def _test_def(nodeid: str, func: ast.FunctionDef | ast.AsyncFunctionDef, inherited: list[str]) -> TestDef:
    return TestDef(
        nodeid=nodeid,
        name=func.name,
        doc=ast.get_docstring(func) or "",
        markers=[*inherited, *_markers(func.decorator_list)],
        strings=_strings(func),
    )


def read_source(repo: Path, rel: str) -> str:
    try:
        return (repo / rel).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
