"""The deterministic checks on tests (checks 4-6): deleted assertions, added skips/xfails/deselections,
and tests made weaker (a weaker assert, a broader ``pytest.raises``, a swallowed failure, a retry)."""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterator

from fixloop.agents.audit_diff import FileChange, is_test_path
from fixloop.agents.audit_index import dotted
from fixloop.records import AuditFinding

_BUILTINS = set(dir(builtins))
SKIP_NAMES = {"skip", "skipif", "xfail", "importorskip", "skipTest", "skipIf", "skipUnless", "expectedFailure"}
SKIP_PREFIXES = ("pytest.", "unittest.", "self.", "mark.")
RETRY_NAMES = {"flaky", "retry", "retry_on_exception", "on_exception"}
BROAD_EXCEPTIONS = {"Exception", "BaseException", "AssertionError", "Failed", "pytest.fail.Exception"}
CONFIG_FILE_SUFFIXES = (".ini", ".cfg", ".toml")
CONFIG_SKIP = re.compile(r"--deselect|--ignore(-glob)?\b|(^|[\s\"'])-k\s")
CONFIG_RERUN = re.compile(r"--reruns|--only-rerun")


# ---------------------------------------------------------------- skips (check 5)


def skip_findings(change: FileChange, new_tree: ast.Module) -> Iterator[AuditFinding]:
    """Added skip/xfail markers and calls, and added retry/flaky decorators."""
    seen: set[int] = set()
    for node in ast.walk(new_tree):
        names: list[tuple[int, str]] = []
        if isinstance(node, ast.Attribute):
            names.append((node.lineno, dotted(node)))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            names.append((node.lineno, node.func.id))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.extend((d.lineno, dotted(d)) for d in node.decorator_list if isinstance(d, ast.Name | ast.Call))
        for line, name in names:
            if line not in change.added or line in seen or not name:
                continue
            last = name.split(".")[-1]
            if last in SKIP_NAMES and (name.startswith(SKIP_PREFIXES) or name == last):
                seen.add(line)
                yield AuditFinding(
                    check="added-skip",
                    message=f"the patch adds {name}: a skipped test proves nothing",
                    file=change.path,
                    line=line,
                )
            elif last in RETRY_NAMES and is_test_path(change.path):
                seen.add(line)
                yield AuditFinding(
                    check="weakened-test",
                    message=f"the patch adds a retry ({name}) around a test: it hides a failure",
                    file=change.path,
                    line=line,
                )


def config_findings(change: FileChange) -> Iterator[AuditFinding]:
    """Added test deselection or reruns in pytest's config files."""
    if not change.path.endswith(CONFIG_FILE_SUFFIXES):
        return
    for line, text in sorted(change.added.items()):
        if CONFIG_SKIP.search(text):
            yield AuditFinding(
                check="added-skip",
                message=f"the patch deselects tests in {change.path}: {text.strip()}",
                file=change.path,
                line=line,
            )
        elif CONFIG_RERUN.search(text):
            yield AuditFinding(
                check="weakened-test",
                message=f"the patch adds test reruns: {text.strip()}",
                file=change.path,
                line=line,
            )


# ---------------------------------------------------------------- weaker tests (checks 4 and 6)


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    out: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            out[stmt.name] = stmt
        elif isinstance(stmt, ast.ClassDef):
            for inner in stmt.body:
                if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef):
                    out[f"{stmt.name}.{inner.name}"] = inner
    return out


def _is_assertion(node: ast.AST) -> bool:
    if isinstance(node, ast.Assert):
        return True
    if isinstance(node, ast.Call):
        name = dotted(node.func)
        last = name.split(".")[-1]
        return last.startswith("assert") or name in ("pytest.raises", "pytest.warns", "pytest.fail", "raises")
    return False


def _assertions(func: ast.AST) -> list[ast.AST]:
    return [n for n in ast.walk(func) if _is_assertion(n)]


def strength(test: ast.expr) -> int:
    """How much an assert's condition pins down: 0 trivially true, 1 truthiness, 2 a bound or
    membership, 3 an equality or identity."""
    if isinstance(test, ast.Constant):
        return 0
    if isinstance(test, ast.BoolOp):
        parts = [strength(v) for v in test.values]
        return min(parts) if isinstance(test.op, ast.Or) else max(parts)
    if isinstance(test, ast.Compare):
        if any(isinstance(c, ast.Constant) and c.value is None for c in test.comparators):
            return 1 if any(isinstance(op, ast.IsNot | ast.NotEq) for op in test.ops) else 3
        return 3 if any(isinstance(op, ast.Eq | ast.Is) for op in test.ops) else 2
    return 1


def weakened_findings(
    change: FileChange, new_tree: ast.Module | None, old_tree: ast.Module | None
) -> Iterator[AuditFinding]:
    """Deleted assertions, weaker asserts, broader pytest.raises, swallowed failures, retry loops."""
    if not is_test_path(change.path):
        return
    old_funcs = _functions(old_tree) if old_tree else {}
    new_funcs = _functions(new_tree) if new_tree else {}
    for qualname, old_func in old_funcs.items():
        old_asserts = _assertions(old_func)
        new_func = new_funcs.get(qualname)
        new_asserts = _assertions(new_func) if new_func else []
        if len(new_asserts) < len(old_asserts):
            removed = [_line(n) for n in old_asserts if _line(n) in change.removed] or [old_func.lineno]
            what = "is deleted" if new_func is None else "loses assertions"
            yield AuditFinding(
                check="deleted-assertion",
                message=f"{qualname} {what}: {len(old_asserts)} assertion(s) before, {len(new_asserts)} after",
                file=change.old_path or change.path,
                line=removed[0],
            )
        if new_func is not None:
            yield from _weaker_asserts(change, qualname, old_func, new_func)
    if new_tree is not None:
        yield from _trivial_asserts(change, new_tree)
        yield from _swallowed_failures(change, new_tree)


def _weaker_asserts(change: FileChange, qualname: str, old_func: ast.AST, new_func: ast.AST) -> Iterator[AuditFinding]:
    removed = [n for n in ast.walk(old_func) if isinstance(n, ast.Assert) and n.lineno in change.removed]
    added = [n for n in ast.walk(new_func) if isinstance(n, ast.Assert) and n.lineno in change.added]
    for before, after in zip(removed, added, strict=False):
        if strength(after.test) < strength(before.test) and _subjects(before.test) & _subjects(after.test):
            yield AuditFinding(
                check="weakened-test",
                message=f"{qualname}: `assert {ast.unparse(before.test)}` became the weaker "
                f"`assert {ast.unparse(after.test)}`",
                file=change.path,
                line=after.lineno,
            )
    broad = ("Exception", "BaseException")
    specific = [_raises_type(n) for n in ast.walk(old_func) if _line(n) in change.removed and _raises_type(n)]
    specific = [k for k in specific if k not in broad]
    for node in ast.walk(new_func):
        kind = _raises_type(node)
        if specific and kind in broad and _line(node) in change.added:
            yield AuditFinding(
                check="weakened-test",
                message=f"{qualname}: pytest.raises({specific[0]}) broadened to pytest.raises({kind})",
                file=change.path,
                line=_line(node),
            )


def _line(node: ast.AST) -> int:
    return int(getattr(node, "lineno", 0))


def _subjects(expr: ast.expr) -> set[str]:
    """What an assertion is about: the names, attributes and subscripts it reads (not builtins like ``len``)."""
    out: set[str] = set()
    for node in ast.walk(expr):
        if isinstance(node, ast.Name) and node.id not in _BUILTINS:
            out.add(node.id)
        elif isinstance(node, ast.Attribute | ast.Subscript):
            out.add(ast.unparse(node))
    return out


def _raises_type(node: ast.AST) -> str:
    if isinstance(node, ast.Call) and dotted(node.func) in ("pytest.raises", "raises") and node.args:
        return dotted(node.args[0]) or ast.unparse(node.args[0])
    return ""


def _trivial_asserts(change: FileChange, tree: ast.Module) -> Iterator[AuditFinding]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and node.lineno in change.added and strength(node.test) == 0:
            yield AuditFinding(
                check="weakened-test",
                message=f"`assert {ast.unparse(node.test)}` can never fail",
                file=change.path,
                line=node.lineno,
            )


def _catches_failures(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(dotted(t) in BROAD_EXCEPTIONS or dotted(t).endswith(".Failed") for t in types)


def _reraises(handler: ast.ExceptHandler) -> bool:
    return any(
        isinstance(n, ast.Raise) or (isinstance(n, ast.Call) and dotted(n.func) in ("pytest.fail", "fail"))
        for n in ast.walk(handler)
    )


def _swallowed_failures(change: FileChange, tree: ast.Module) -> Iterator[AuditFinding]:
    for node in ast.walk(tree):
        if isinstance(node, ast.For | ast.While | ast.AsyncFor):
            tries = [t for t in ast.walk(node) if isinstance(t, ast.Try)]
            touched = node.lineno in change.added or any(t.lineno in change.added for t in tries)
            loops_on = any(isinstance(n, ast.Break | ast.Continue) for n in ast.walk(node))
            if touched and loops_on and any(_catches_failures(h) for t in tries for h in t.handlers):
                yield AuditFinding(
                    check="weakened-test",
                    message="a retry loop around a failing check: the test passes if any attempt does",
                    file=change.path,
                    line=node.lineno,
                )
        elif isinstance(node, ast.Try):
            for handler in node.handlers:
                touched = node.lineno in change.added or handler.lineno in change.added
                if touched and _catches_failures(handler) and not _reraises(handler):
                    caught = ast.unparse(handler.type) if handler.type else "everything"
                    yield AuditFinding(
                        check="weakened-test",
                        message=f"a try/except catching {caught} swallows the test's failure",
                        file=change.path,
                        line=handler.lineno,
                    )
        elif (
            isinstance(node, ast.Call)
            and dotted(node.func).split(".")[-1] == "suppress"
            and node.lineno in change.added
        ):
            yield AuditFinding(
                check="weakened-test",
                message="contextlib.suppress hides the test's failure",
                file=change.path,
                line=node.lineno,
            )
