"""Call paths from a failing test into the package: where the failing assertion's values come from.

When a traceback stops in the test (``assert parse(x) == 3``), the package functions the failing line
calls, directly or through a local the test assigned earlier (``book = load(...)`` ... ``assert
book.total() == 3``), are level 1; the package functions those call are level 2. Names are resolved
through the modules' imports (absolute and relative), module-level definitions, ``self.method`` calls,
and, for ``obj.method(...)`` on a value of unknown type, the package's methods of that name when few.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

from fixloop.tools.python_ast import parse_python

MAX_METHOD_OWNERS = 3  # obj.method(): at most this many package classes define it, or it says nothing
MAX_LEVEL = 2


@dataclass(frozen=True)
class CallTarget:
    """A package function on the failing assertion's call path."""

    file: str
    function: str  # qualified: ``Class.method`` or ``function``
    line: int
    level: int  # 1: called by the failing line (or the local it reads), 2: called by a level-1 function
    via: str  # the call as written in the caller
    direct: bool = True  # level 1 by the failing line itself, not by the assignment of a local it reads


def assertion_call_paths(
    repo: Path, sources: list[str], test_file: str, test_function: str, line: int
) -> list[CallTarget]:
    """The package functions the failing line ``line`` of ``test_function`` gets its values from, by level."""
    index = _Index(repo, tuple(sources))
    tree = index.tree(test_file)
    if tree is None:
        return []
    function = _find_function(tree, test_function)
    if function is None:
        return []
    failing = [s for s in ast.walk(function) if isinstance(s, ast.stmt) and _spans(s, line) and not _is_def(s)]
    if not failing:
        return []
    statement = min(failing, key=lambda s: (s.end_lineno or s.lineno) - s.lineno)
    direct_calls = _calls(statement)
    found: dict[tuple[str, str], CallTarget] = {}
    frontier = [(test_file, call, "") for call in [*direct_calls, *_local_sources(function, statement)]]
    direct_ids = {id(call) for call in direct_calls}
    local_types = index.local_classes(test_file, function)
    for level in range(1, MAX_LEVEL + 1):
        next_frontier: list[tuple[str, ast.Call, str]] = []
        for caller_file, call, owner in frontier:
            typed = local_types if level == 1 else {}
            for target_file, qualname, node in index.resolve(caller_file, call, owner, typed):
                key = (target_file, qualname)
                if key in found:
                    continue
                direct = level > 1 or id(call) in direct_ids
                found[key] = CallTarget(target_file, qualname, node.lineno, level, ast.unparse(call.func), direct)
                owner_class = qualname.rsplit(".", 1)[0] if "." in qualname else ""
                next_frontier += [(target_file, sub, owner_class) for sub in _calls(node)]
        frontier = next_frontier
    return sorted(found.values(), key=lambda t: (t.level, t.file, t.line))


def _spans(node: ast.stmt, line: int) -> bool:
    return node.lineno <= line <= (node.end_lineno or node.lineno)


def _is_def(node: ast.stmt) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)


def _calls(node: ast.AST) -> list[ast.Call]:
    return [sub for sub in ast.walk(node) if isinstance(sub, ast.Call)]


def _local_sources(function: ast.FunctionDef | ast.AsyncFunctionDef, statement: ast.stmt) -> list[ast.Call]:
    """The calls that computed the locals ``statement`` reads (assigned earlier in the test)."""
    read = {n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    calls: list[ast.Call] = []
    for node in ast.walk(function):
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign) and node.lineno < statement.lineno:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            if names & read and node.value is not None:
                calls += _calls(node.value)
        elif isinstance(node, ast.With | ast.AsyncWith) and node.lineno < statement.lineno:
            for item in node.items:
                var = item.optional_vars
                if isinstance(var, ast.Name) and var.id in read:
                    calls += _calls(item.context_expr)
    return calls


def _find_function(tree: ast.Module, qualname: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    parts = qualname.split(".")
    body: list[ast.stmt] = list(tree.body)
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        match = next(
            (
                n
                for n in body
                if getattr(n, "name", None) == part
                and (isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) if last else isinstance(n, ast.ClassDef))
            ),
            None,
        )
        if match is None:
            return None
        if isinstance(match, ast.FunctionDef | ast.AsyncFunctionDef):
            return match
        body = match.body if isinstance(match, ast.ClassDef) else []
    return None


class _Index:
    """Modules, their imports and definitions, for resolving calls."""

    def __init__(self, repo: Path, sources: tuple[str, ...]) -> None:
        self.repo = repo
        self.sources = sources
        self.modules = _module_paths(sources)

    def tree(self, rel: str) -> ast.Module | None:
        return _tree(str(self.repo / rel))

    def local_classes(self, rel: str, function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, tuple[str, str]]:
        """Locals of ``function`` assigned a package class instance (``server = H11Handshake(SERVER)``):
        name -> (file, class), so that ``server.send(...)`` resolves to ``H11Handshake.send``."""
        out: dict[str, tuple[str, str]] = {}
        for node in ast.walk(function):
            if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
                continue
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            found = self.class_of(rel, node.value.func)
            if found is not None:
                for name in names:
                    out[name] = found
        return out

    def class_of(self, caller: str, func: ast.expr) -> tuple[str, str] | None:
        """(file, class) when ``func`` (called in ``caller``) names a package class, imported or local."""
        if not isinstance(func, ast.Name):
            return None
        imports = _imports(str(self.repo / caller), _module_name(caller))
        if func.id in imports:
            module, name = imports[func.id]
            rel = self.modules.get(module)
        else:
            rel, name = caller, func.id
        return (rel, name) if rel is not None and name in _classes(str(self.repo / rel)) else None

    def resolve(
        self, caller: str, call: ast.Call, owner: str, local_types: dict[str, tuple[str, str]] | None = None
    ) -> list[tuple[str, str, ast.FunctionDef | ast.AsyncFunctionDef]]:
        """(file, qualname, def) of the package functions ``call`` (in file ``caller``) may run."""
        func = call.func
        typed = local_types or {}
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in typed:
            rel, cls = typed[func.value.id]
            return self._in_file(rel, f"{cls}.{func.attr}")
        imports = _imports(str(self.repo / caller), _module_name(caller))
        if isinstance(func, ast.Name):
            if func.id in imports:
                module, name = imports[func.id]
                return self._in_module(module, name)
            return self._in_file(caller, func.id)
        if not isinstance(func, ast.Attribute):
            return []
        value = func.value
        if isinstance(value, ast.Name) and value.id == "self" and owner:
            return self._in_file(caller, f"{owner}.{func.attr}")
        if isinstance(value, ast.Name) and value.id in imports:
            module, name = imports[value.id]
            dotted = f"{module}.{name}" if name else module
            if dotted in self.modules:
                return self._in_module(dotted, func.attr)
            return self._in_module(module, f"{name}.{func.attr}") if name else []
        return self._methods(func.attr)

    def _in_module(self, module: str, name: str) -> list[tuple[str, str, ast.FunctionDef | ast.AsyncFunctionDef]]:
        rel = self.modules.get(module)
        return self._in_file(rel, name) if rel is not None else []

    def _in_file(self, rel: str, name: str) -> list[tuple[str, str, ast.FunctionDef | ast.AsyncFunctionDef]]:
        definitions = _definitions(str(self.repo / rel))
        if name in definitions:
            return [(rel, name, definitions[name])]
        init = f"{name}.__init__"  # a class call runs its __init__
        return [(rel, init, definitions[init])] if init in definitions else []

    def _methods(self, attr: str) -> list[tuple[str, str, ast.FunctionDef | ast.AsyncFunctionDef]]:
        if attr.startswith("__"):
            return []
        owners = [
            (rel, qualname, node)
            for rel in self.sources
            for qualname, node in _definitions(str(self.repo / rel)).items()
            if "." in qualname and qualname.rsplit(".", 1)[1] == attr
        ]
        return owners if len(owners) <= MAX_METHOD_OWNERS else []


def _module_paths(sources: tuple[str, ...]) -> dict[str, str]:
    """Dotted module name -> repo-relative file, for every source (``src/`` layout too)."""
    out: dict[str, str] = {}
    for rel in sources:
        out.setdefault(_module_name(rel), rel)
    return out


def _module_name(rel: str) -> str:
    parts = list(PurePosixPath(rel).with_suffix("").parts)
    if parts and parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@lru_cache(maxsize=512)
def _tree(path: str) -> ast.Module | None:
    try:
        return parse_python(Path(path).read_text(encoding="utf-8", errors="replace"), path)
    except (OSError, SyntaxError, ValueError):
        return None


@lru_cache(maxsize=512)
def _imports(path: str, module: str) -> dict[str, tuple[str, str]]:
    """Local name -> (module, imported name or "") of a file's imports; relative ones resolved from ``module``."""
    tree = _tree(path)
    out: dict[str, tuple[str, str]] = {}
    if tree is None:
        return out
    package = module.split(".")
    if not path.endswith("__init__.py"):
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - (node.level - 1)] if node.level else []
            source = ".".join([*base, *(node.module.split(".") if node.module else [])])
            for alias in node.names:
                out[alias.asname or alias.name] = (source, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    out[alias.asname] = (alias.name, "")
                else:
                    top = alias.name.split(".")[0]
                    out[top] = (top, "")
    return out


@lru_cache(maxsize=512)
def _classes(path: str) -> frozenset[str]:
    """The module-level classes of a file."""
    tree = _tree(path)
    return frozenset(n.name for n in tree.body if isinstance(n, ast.ClassDef)) if tree is not None else frozenset()


@lru_cache(maxsize=512)
def _definitions(path: str) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """Qualified name -> def of every function and method of a file (nested functions left out)."""
    tree = _tree(path)
    out: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    if tree is None:
        return out

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                out[f"{prefix}{node.name}"] = node
            elif isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")

    visit(tree.body, "")
    return out
