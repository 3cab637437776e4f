"""What a Python module defines and which config/env keys it reads, found by AST: the audit's view
of "where things already live" in the repo."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

Literalish = str | int | float | bytes
DefinitionKind = Literal["function", "class", "constant"]
ENV_READERS = {"os.getenv", "getenv", "os.environ.get", "environ.get", "os.environ.setdefault", "os.environ.pop"}
ENV_MAPPINGS = {"os.environ", "environ"}
CONFIG_NAMES = {"settings", "config", "cfg", "conf", "configuration", "options", "env"}


@dataclass(frozen=True)
class Definition:
    file: str
    scope: str  # "" at module level, the class name at class level
    name: str
    kind: DefinitionKind
    line: int
    value: Literalish | None = None  # the literal value of a constant
    test: bool = False  # defined in a test file
    fixture: bool = False  # a pytest fixture


@dataclass(frozen=True)
class KeyUse:
    file: str
    line: int
    key: str
    kind: Literal["env", "config"]
    test: bool = False


def dotted(node: ast.AST) -> str:
    """``pytest.mark.skip`` for the expression ``pytest.mark.skip(...)``; "" when not a plain name chain."""
    if isinstance(node, ast.Call):
        return dotted(node.func)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def literal_value(node: ast.AST | None) -> Literalish | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bytes):
        return None if isinstance(node.value, bool) else node.value
    return None


def meaningful_value(value: Literalish | None) -> bool:
    """A value worth naming once: not a tiny number, not a short or empty string."""
    if isinstance(value, str | bytes):
        return len(value.strip()) >= 3
    if isinstance(value, int | float):
        return abs(value) >= 10
    return False


def module_definitions(tree: ast.Module, file: str, *, test: bool = False) -> list[Definition]:
    """Top-level functions, classes and assigned names, and class-level assigned names."""
    found: list[Definition] = []
    for stmt in tree.body:
        found.extend(_statement_definitions(stmt, file, "", test))
        if isinstance(stmt, ast.ClassDef):
            for inner in stmt.body:
                if isinstance(inner, ast.Assign | ast.AnnAssign):
                    found.extend(_statement_definitions(inner, file, stmt.name, test))
    return found


def _statement_definitions(stmt: ast.stmt, file: str, scope: str, test: bool) -> Iterator[Definition]:
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
        fixture = any(dotted(d).split(".")[-1] == "fixture" for d in stmt.decorator_list)
        yield Definition(file, scope, stmt.name, "function", stmt.lineno, test=test, fixture=fixture)
    elif isinstance(stmt, ast.ClassDef):
        yield Definition(file, scope, stmt.name, "class", stmt.lineno, test=test)
    elif isinstance(stmt, ast.Assign | ast.AnnAssign):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        value = literal_value(stmt.value)
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            # Module level: any literal-valued or UPPER_CASE name. Class level: UPPER_CASE only (lowercase
            # class attributes are fields and defaults, e.g. ``backend: str = "local"``, not constants).
            upper = target.id.isupper()
            if upper or (value is not None and not scope):
                yield Definition(file, scope, target.id, "constant", stmt.lineno, value=value, test=test)


def key_uses(tree: ast.Module, file: str, *, test: bool = False) -> list[KeyUse]:
    """Env var names and config keys read with a literal: ``os.getenv("X")``, ``os.environ["X"]``,
    ``settings.get("key")``, ``config["key"]``."""
    uses: list[KeyUse] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            key = literal_value(node.args[0])
            name = dotted(node.func)
            if not isinstance(key, str):
                continue
            if name in ENV_READERS:
                uses.append(KeyUse(file, node.lineno, key, "env", test))
            elif name.endswith(".get") and name.rsplit(".", 2)[-2].lower() in CONFIG_NAMES:
                uses.append(KeyUse(file, node.lineno, key, "config", test))
        elif isinstance(node, ast.Subscript):
            key = literal_value(node.slice)
            name = dotted(node.value)
            if not isinstance(key, str):
                continue
            if name in ENV_MAPPINGS:
                uses.append(KeyUse(file, node.lineno, key, "env", test))
            elif name.split(".")[-1].lower() in CONFIG_NAMES:
                uses.append(KeyUse(file, node.lineno, key, "config", test))
    return uses


@dataclass
class RepoIndex:
    """Definitions of every Python file of a tree by name and constant value; key reads on demand.

    Key reads are looked up only for the few keys a patch reads, and only in the modules whose text
    contains that key, so a large repo is not walked node by node for them.
    """

    by_name: dict[str, list[Definition]] = field(default_factory=lambda: defaultdict(list))
    by_value: dict[Literalish, list[Definition]] = field(default_factory=lambda: defaultdict(list))
    modules: dict[str, tuple[ast.Module, str, bool]] = field(default_factory=dict)  # file -> (tree, text, test)
    _reads: dict[str, list[KeyUse]] = field(default_factory=dict)

    def add_module(self, tree: ast.Module, file: str, *, test: bool, text: str = "") -> None:
        for d in module_definitions(tree, file, test=test):
            self.by_name[d.name].append(d)
            if d.kind == "constant" and meaningful_value(d.value):
                assert d.value is not None
                self.by_value[d.value].append(d)
        self.modules[file] = (tree, text or ast.unparse(tree), test)

    def reads_of(self, key: str) -> list[KeyUse]:
        """Every read of the env var or config key ``key`` (a literal) in the tree."""
        if key not in self._reads:
            found: list[KeyUse] = []
            for file, (tree, text, test) in self.modules.items():
                if key in text:
                    found.extend(u for u in key_uses(tree, file, test=test) if u.key == key)
            self._reads[key] = found
        return self._reads[key]
