"""parse_python: ast.parse, serialized across threads."""

from __future__ import annotations

import ast
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
