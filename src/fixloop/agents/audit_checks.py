"""The deterministic SSOT checks for duplicates (checks 1-3): a new definition, constant or config
key read whose name or value already exists elsewhere in the post-patch tree (``audit_index.RepoIndex``).
The checks on tests (skips, weaker tests) are in ``audit_weakening``."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from fixloop.agents.audit_diff import FileChange, is_test_path
from fixloop.agents.audit_index import Definition, RepoIndex, key_uses, module_definitions
from fixloop.records import AuditFinding
from fixloop.tools.python_ast import parse_python

IGNORED_NAMES = {"main", "app", "router", "logger", "log", "pytestmark", "setup", "teardown", "_"}


def _loc(o: Definition) -> str:
    return f"{o.file}:{o.line}"


def parse(text: str, path: str) -> ast.Module | AuditFinding:
    try:
        return parse_python(text, path)
    except SyntaxError as exc:
        return AuditFinding(
            check="syntax-error",
            message=f"{path} does not parse after the patch: {exc.msg}",
            file=path,
            line=exc.lineno,
        )


# ---------------------------------------------------------------- duplicates (checks 1-3)


def duplicate_findings(
    change: FileChange, new_tree: ast.Module, old_tree: ast.Module | None, index: RepoIndex
) -> Iterator[AuditFinding]:
    """New definitions whose name or constant value already exists elsewhere; new key reads of a key
    that is already read or named elsewhere."""
    test = is_test_path(change.path)
    old_defs = {(d.scope, d.name): d for d in module_definitions(old_tree, change.path)} if old_tree else {}
    for d in module_definitions(new_tree, change.path, test=test):
        if _exempt(d):
            continue
        before = old_defs.get((d.scope, d.name))
        if before is not None and (d.kind != "constant" or before.value == d.value):
            continue  # an existing definition, unchanged (or a changed body: that is where fixes belong)
        # A new definition is checked by name and value; an existing constant whose value changed, by value.
        same_name = [
            o for o in index.by_name.get(d.name, []) if _name_matters(d, before) and _elsewhere(o, d) and o.scope == ""
        ]
        same_value = [o for o in index.by_value.get(d.value, []) if _elsewhere(o, d)] if d.value is not None else []
        if d.kind == "constant" and (same_value or same_name):
            other = (same_value or same_name)[0]
            what = f"value {d.value!r}" if same_value else "name"
            yield AuditFinding(
                check="duplicate-constant",
                message=f"{'new' if before is None else 'changed'} constant {d.name} = {d.value!r} duplicates the "
                f"{what} of {other.name} at {_loc(other)}; use or fix that single definition",
                file=change.path,
                line=d.line,
            )
        elif same_name:
            yield AuditFinding(
                check="duplicate-definition",
                message=f"new {d.kind} {d.name} already exists at {_loc(same_name[0])}; reuse or fix that one",
                file=change.path,
                line=d.line,
            )
    for use in key_uses(new_tree, change.path, test=test):
        if use.line not in change.added:
            continue
        reads = [
            u
            for u in index.reads_of(use.key)
            if not (u.file == change.path and u.line in change.added) and (test or not u.test)
        ]
        named = [
            o
            for o in index.by_value.get(use.key, [])
            if not (o.file == change.path and o.line in change.added) and (test or not o.test)
        ]
        if reads or named:
            where = (
                f"named by {named[0].name} at {_loc(named[0])}" if named else f"read at {reads[0].file}:{reads[0].line}"
            )
            yield AuditFinding(
                check="duplicate-config-key",
                message=f"{use.kind} key {use.key!r} is already {where}; use that setting instead of reading it again",
                file=change.path,
                line=use.line,
            )


def _name_matters(d: Definition, before: Definition | None) -> bool:
    """Whether a new definition's *name* is checked against the repo. Not for: private names (module-local
    by convention), definitions in test files (test helpers share names freely), constants computed at
    import time (``ROOT = Path(__file__)...`` is module-local), nor existing definitions."""
    if before is not None or d.scope or d.test or d.name.startswith("_"):
        return False
    return d.kind != "constant" or d.value is not None


def _exempt(d: Definition) -> bool:
    if d.name in IGNORED_NAMES or (d.name.startswith("__") and d.name.endswith("__")):
        return True
    return d.test and (d.fixture or d.name.startswith(("test_", "Test")))


def _elsewhere(other: Definition, added: Definition) -> bool:
    """Another definition, in the same layer: production code is not compared with test code."""
    if (other.file, other.scope, other.name, other.line) == (added.file, added.scope, added.name, added.line):
        return False
    return added.test or not other.test
