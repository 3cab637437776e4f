"""Call paths from a failing assertion into the package: imports (relative too), locals, methods, two levels."""

from __future__ import annotations

from pathlib import Path

from fixloop.tools.call_paths import assertion_call_paths
from fixloop.tools.code_search import source_files
from tests.tools.conftest import write_files

FILES = {
    "pkg/__init__.py": "",
    "pkg/core.py": """
        from pkg.util import lower_all


        def has_token(headers, token):
            return token in lower_all(headers)


        class Store:
            def load(self, text):
                return self._split(text)

            def _split(self, text):
                return text.split(",")
    """,
    "pkg/util.py": """
        def lower_all(items):
            return [item.lower() for item in items]
    """,
    "pkg/tests/__init__.py": "",
    "pkg/tests/test_core.py": """
        from ..core import Store, has_token


        def test_token():
            headers = ["Expect"]
            assert has_token(headers, "expect")


        class TestStore:
            def test_load(self):
                rows = Store().load("a,b")
                assert rows == ["a", "b", "c"]
    """,
}


def test_relative_imports_two_levels_and_the_locals_the_failing_line_reads(tmp_path: Path) -> None:
    repo = write_files(tmp_path, FILES)
    sources = source_files(repo)
    found = assertion_call_paths(repo, sources, "pkg/tests/test_core.py", "test_token", 6)
    assert [(t.file, t.function, t.level) for t in found] == [
        ("pkg/core.py", "has_token", 1),
        ("pkg/util.py", "lower_all", 2),
    ]
    found = assertion_call_paths(repo, sources, "pkg/tests/test_core.py", "TestStore.test_load", 12)
    # rows = Store().load(...) computed the local the assertion reads; load calls self._split
    assert [(t.function, t.level, t.direct) for t in found] == [("Store.load", 1, False), ("Store._split", 2, True)]


def test_a_method_on_a_local_instance_resolves_to_its_class_even_when_many_classes_define_it(tmp_path: Path) -> None:
    methods = "\n".join(
        f"class P{n}:\n    def send(self, event):\n        return self._frame(event)\n\n"
        f"    def _frame(self, event):\n        return event\n"
        for n in range(5)
    )  # five classes define send(): an untyped obj.send() says nothing
    repo = write_files(
        tmp_path,
        {
            "proto/__init__.py": "",
            "proto/conns.py": methods,
            "tests/test_conns.py": """
                from proto.conns import P3


                def test_send():
                    server = P3()
                    assert server.send("x") == "y"
            """,
        },
    )
    found = assertion_call_paths(repo, source_files(repo), "tests/test_conns.py", "test_send", 6)
    assert [(t.file, t.function, t.level) for t in found] == [
        ("proto/conns.py", "P3.send", 1),
        ("proto/conns.py", "P3._frame", 2),
    ]
