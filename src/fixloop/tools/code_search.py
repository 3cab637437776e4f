"""Searches over a repository's Python sources for localization: files, literals, constants, AST facts."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MAX_FILES = 4000
SKIP_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".fixloop", "site-packages", "build"})
_CONSTANT_DEF = re.compile(r"^\s*([A-Z][A-Z0-9_]*)\s*(?::[^=]+)?=")


@dataclass(frozen=True)
class Hit:
    file: str
    line: int
    text: str
    literal: str


# ---------------------------------------------------------------- files


def source_files(repo: Path) -> list[str]:
    """Python source files of ``repo`` (posix, relative), skipping virtualenvs and caches."""
    return list(_source_files(str(repo.resolve())))


@lru_cache(maxsize=16)
def _source_files(root: str) -> tuple[str, ...]:
    base = Path(root)
    found: list[str] = []
    stack = [base]
    while stack and len(found) < MAX_FILES:
        folder = stack.pop()
        try:
            children = sorted(folder.iterdir())
        except OSError:
            continue
        for child in children:
            if child.is_dir():
                if child.name not in SKIP_DIRS and not child.name.startswith("."):
                    stack.append(child)
            elif child.suffix == ".py":
                found.append(child.relative_to(base).as_posix())
    return tuple(sorted(found))


def read_lines(repo: Path, rel: str) -> list[str]:
    try:
        return (repo / rel).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


# ---------------------------------------------------------------- literals and constants


def search_literals(repo: Path, sources: list[str], literals: list[str]) -> list[Hit]:
    """Every source line containing one of ``literals`` (longest literal first at each position)."""
    if not literals:
        return []
    pattern = re.compile("|".join(re.escape(s) for s in sorted(literals, key=len, reverse=True)))
    hits = []
    for rel in sources:
        lines = read_lines(repo, rel)
        if not lines or not pattern.search("\n".join(lines)):
            continue
        for number, line in enumerate(lines, start=1):
            for match in pattern.finditer(line):
                hits.append(Hit(rel, number, line.strip(), match.group(0)))
    return hits


def constant_name(line: str) -> str:
    """``AGENT_THINKING`` for a line ``AGENT_THINKING = "agent_thinking"``, else ''."""
    match = _CONSTANT_DEF.match(line)
    return match.group(1) if match else ""


def search_names(repo: Path, sources: list[str], names: dict[str, str]) -> list[Hit]:
    """Lines using one of ``names`` (constant -> the literal it holds), outside the line defining it."""
    if not names:
        return []
    pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")\b")
    hits = []
    for rel in sources:
        lines = read_lines(repo, rel)
        for number, line in enumerate(lines, start=1):
            if constant_name(line) in names:
                continue  # the definition itself
            for match in pattern.finditer(line):
                hits.append(Hit(rel, number, line.strip(), names[match.group(1)]))
    return hits


# ---------------------------------------------------------------- AST facts


def enclosing_function(path: Path, line: int) -> str:
    """The innermost function (``Class.method`` or ``function``) of ``path`` containing ``line``."""
    best = ""
    best_size = 1 << 30
    for name, start, end in _function_spans(str(path)):
        if start <= line <= end and end - start < best_size:
            best, best_size = name, end - start
    return best


def function_line(path: Path, name: str) -> int | None:
    """The line where function ``name`` (or ``Class.name``) of ``path`` starts."""
    for qualified, start, _ in _function_spans(str(path)):
        if qualified == name or qualified.endswith(f".{name}"):
            return start
    return None


@lru_cache(maxsize=256)
def _function_spans(path: str) -> tuple[tuple[str, int, int], ...]:
    tree = _parse(path)
    if tree is None:
        return ()
    spans: list[tuple[str, int, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                spans.append((name, child.lineno, child.end_lineno or child.lineno))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return tuple(spans)


@lru_cache(maxsize=256)
def _parse(path: str) -> ast.Module | None:
    try:
        return ast.parse(Path(path).read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return None


def global_writers(repo: Path, rel: str) -> list[tuple[str, int, list[str]]]:
    """(function, line, names) of functions in ``rel`` that rebind module-level names (``global x``)."""
    tree = _parse(str(repo / rel))
    if tree is None:
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names = [n for stmt in ast.walk(node) if isinstance(stmt, ast.Global) for n in stmt.names]
            if names:
                out.append((node.name, node.lineno, names))
    return out


def next_module_call(repo: Path, rel: str, line: int) -> tuple[str, str, int] | None:
    """The first ``module.function(...)`` call after ``line`` in the same function of ``rel``.

    Returns (module name, function name, line) for a module imported in that file, or None.
    """
    tree = _parse(str(repo / rel))
    if tree is None:
        return None
    modules = _imported_modules(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not (node.lineno <= line <= (node.end_lineno or node.lineno)):
            continue
        calls = [
            call
            for call in ast.walk(node)
            if isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id in modules
            and call.lineno > line
        ]
        calls = [c for c in calls if not _is_emit_like(c)]
        if calls:
            first = min(calls, key=lambda c: (c.lineno, c.col_offset))
            assert isinstance(first.func, ast.Attribute) and isinstance(first.func.value, ast.Name)
            return first.func.value.id, first.func.attr, first.lineno
    return None


def _is_emit_like(call: ast.Call) -> bool:
    """A call that merely names a constant of the module (``events.X`` passed along) is no step of work."""
    return isinstance(call.func, ast.Attribute) and call.func.attr.isupper()


def _imported_modules(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def module_file(sources: list[str], module: str) -> str | None:
    """The repo file of an imported module name (``tools`` -> ``chatbackend/tools.py``) when unique."""
    matches = [s for s in sources if s.endswith(f"/{module}.py") or s == f"{module}.py"]
    matches = [s for s in matches if not s.startswith("tests/")] or matches
    return matches[0] if len(matches) == 1 else None
