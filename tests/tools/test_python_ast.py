"""parse_python: ast.parse, serialized across threads and retried on the CPython 3.11 counter race."""

from __future__ import annotations

import ast
import gc
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fixloop.tools.python_ast import parse_python

SOURCE = Path(__file__).read_text(encoding="utf-8")


def test_parses_like_ast_parse() -> None:
    assert ast.dump(parse_python(SOURCE, "x.py")) == ast.dump(ast.parse(SOURCE))


def test_a_syntax_error_names_the_file() -> None:
    with pytest.raises(SyntaxError) as raised:
        parse_python("def broken(:\n", "broken.py")
    assert raised.value.filename == "broken.py"


def test_threads_parsing_at_once_get_the_same_trees() -> None:
    expected = ast.dump(ast.parse(SOURCE))
    with ThreadPoolExecutor(max_workers=8) as pool:
        dumps = list(pool.map(lambda i: ast.dump(parse_python(SOURCE, f"f{i}.py")), range(64)))
    assert dumps == [expected] * 64


class _ParsesWhenCollected:
    """Cyclic garbage whose finalizer parses, the way a stdlib traceback parses in another thread."""

    def __init__(self) -> None:
        self.cycle = self

    def __del__(self) -> None:
        ast.parse("x = [1, (2, {3: 4})]")


def _parse_while_the_collector_parses(parse: Callable[[str], ast.Module]) -> ast.Module:
    gc.disable()
    for _ in range(50):
        _ParsesWhenCollected()
    threshold = gc.get_threshold()
    gc.set_threshold(1)
    gc.enable()
    try:
        return parse(SOURCE)
    finally:
        gc.set_threshold(*threshold)
        gc.collect()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the shared AST counter race is a CPython 3.11 bug")
def test_the_race_is_real_on_this_interpreter() -> None:
    """The control: plain ast.parse fails here, so the next test proves the retry, not luck."""
    with pytest.raises(SystemError, match="recursion depth mismatch"):
        _parse_while_the_collector_parses(ast.parse)


def test_a_parse_interrupted_by_another_parse_is_retried() -> None:
    tree = _parse_while_the_collector_parses(lambda source: parse_python(source, "x.py"))
    assert ast.dump(tree) == ast.dump(ast.parse(SOURCE))
