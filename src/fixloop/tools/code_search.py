"""Searches over a repository's Python sources for localization: files, literals, constants, AST facts."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fixloop.tools.python_ast import parse_python

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
        return parse_python(Path(path).read_text(encoding="utf-8", errors="replace"), path)
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


# ---------------------------------------------------------------- data flow (one step)


@dataclass(frozen=True)
class GuardedCall:
    """A ``module.function(...)`` call in the ``try`` body whose ``except`` handler holds a line."""

    module: str
    function: str
    line: int
    inputs: tuple[str, ...]  # argument names read from elsewhere (attributes, parameters)


def guarded_calls(repo: Path, rel: str, line: int) -> list[GuardedCall]:
    """Calls of imported modules guarded by the ``try`` whose ``except`` handler contains ``line``.

    An error logged in an ``except`` handler was raised inside one of these calls: the handler
    only reports it.
    """
    tree = _parse(str(repo / rel))
    if tree is None:
        return []
    modules = _imported_modules(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        if not any(h.lineno <= line <= (h.end_lineno or h.lineno) for h in node.handlers):
            continue
        function = _enclosing_def(tree, node.lineno)
        calls = [c for stmt in node.body for c in ast.walk(stmt) if isinstance(c, ast.Call)]
        return [
            GuardedCall(c.func.value.id, c.func.attr, c.lineno, _inputs(c, function))
            for c in calls
            if isinstance(c.func, ast.Attribute) and isinstance(c.func.value, ast.Name) and c.func.value.id in modules
        ]
    return []


def call_inputs(repo: Path, rel: str, line: int, function: str) -> tuple[str, ...]:
    """The inputs (see ``GuardedCall.inputs``) of the call of ``function`` on ``line`` of ``rel``."""
    tree = _parse(str(repo / rel))
    if tree is None:
        return ()
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and call.lineno == line and _called_name(call) == function:
            return _inputs(call, _enclosing_def(tree, line))
    return ()


def _called_name(call: ast.Call) -> str:
    return call.func.attr if isinstance(call.func, ast.Attribute) else ""


def value_origins(repo: Path, sources: list[str], name: str) -> list[Hit]:
    """Where the value of ``name`` is computed: ``name=<expr>`` keywords and ``obj.name = <expr>`` assignments.

    A pass-through (``name=self.config.name``, ``name=name``) only hands the value on and is skipped;
    so are plain ``name = <expr>`` assignments, which bind some function's local of the same name.
    """
    hits = []
    for rel in sources:
        lines = read_lines(repo, rel)
        if not any(name in text for text in lines):
            continue
        tree = _parse(str(repo / rel))
        if tree is None:
            continue
        for node in ast.walk(tree):
            value = _assigned_value(node, name)
            if value is None or _names(value) == name or isinstance(value, ast.Constant):
                continue
            number = getattr(node, "lineno", None) or value.lineno
            hits.append(Hit(rel, number, lines[number - 1].strip() if number <= len(lines) else "", name))
    return hits


def _assigned_value(node: ast.AST, name: str) -> ast.expr | None:
    """The value ``node`` gives ``name`` (``name=<expr>`` keyword or ``obj.name = <expr>``), else None."""
    if isinstance(node, ast.keyword) and node.arg == name:
        return node.value
    if isinstance(node, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == name for t in node.targets):
        return node.value
    return None


def names_read(path: Path, function: str) -> set[str]:
    """Every name and attribute ``function`` of ``path`` reads."""
    tree = _parse(str(path))
    if tree is None:
        return set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (
            node.name == function or function.endswith(f".{node.name}")
        ):
            found = set()
            for child in ast.walk(node):
                if isinstance(child, ast.Name):
                    found.add(child.id)
                elif isinstance(child, ast.Attribute):
                    found.add(child.attr)
            return found
    return set()


def _inputs(call: ast.Call, function: ast.FunctionDef | ast.AsyncFunctionDef | None) -> tuple[str, ...]:
    """Arguments whose value comes from outside the calling function: attributes and its parameters."""
    params = set()
    if function is not None:
        args = function.args
        params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs] if a.arg not in ("self", "cls")}
    out: list[str] = []
    for value in [*call.args, *(k.value for k in call.keywords)]:
        if isinstance(value, ast.Attribute) or (isinstance(value, ast.Name) and value.id in params):
            out.append(_names(value))
    return tuple(dict.fromkeys(out))


def _names(node: ast.expr) -> str:
    """The last name of a reference (``self.config.jwt_secret`` -> ``jwt_secret``), '' for other expressions."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _enclosing_def(tree: ast.Module, line: int) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    defs = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.lineno <= line <= (node.end_lineno or node.lineno)
    ]
    return max(defs, key=lambda node: node.lineno, default=None)  # the innermost


def function_span(path: Path, name: str) -> tuple[int, int] | None:
    """The (first, last) line of function ``name`` (or ``Class.name``) of ``path``."""
    for qualified, start, end in _function_spans(str(path)):
        if qualified == name or qualified.endswith(f".{name}") or name.endswith(f".{qualified}"):
            return start, end
    return None
