from __future__ import annotations

from pathlib import Path

from fixloop.tools.static_scan import find_test_files, scan_source
from tests.tools.conftest import write_files

SOURCE = '''
"""Events over the socket."""
import pytest
from websockets.asyncio.client import connect

pytestmark = [pytest.mark.staging]
WS_URL = "ws://127.0.0.1:8765/ws"

@pytest.mark.slow
async def test_events():
    """The five events arrive."""
    assert "agent_started"

class TestChat:
    @pytest.mark.parametrize("x", [1])
    def test_one(self, x):
        pass

    def helper(self):
        pass

class TestInherited(SomeBase):
    pass
'''


def test_scan_reads_names_markers_imports_literals_without_importing() -> None:
    scan = scan_source("tests/test_x.py", SOURCE)  # `SomeBase` is undefined: importing would fail
    assert [t.nodeid for t in scan.tests] == ["tests/test_x.py::test_events", "tests/test_x.py::TestChat::test_one"]
    assert scan.doc == "Events over the socket."
    assert scan.markers == ["staging"]
    assert scan.tests[0].markers == ["slow"] and scan.tests[1].markers == ["parametrize"]
    assert "websockets.asyncio.client.connect" in scan.imports
    assert "ws://127.0.0.1:8765/ws" in scan.strings
    assert "agent_started" in scan.tests[0].strings
    assert scan.opaque_bases


def test_syntax_error_is_recorded_not_raised() -> None:
    scan = scan_source("tests/test_bad.py", "def test_x(:\n")
    assert scan.syntax_error.startswith("SyntaxError")
    assert scan.tests == []


def test_find_test_files_skips_venvs_and_non_tests(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "tests/test_a.py": "",
            "tests/sub/b_test.py": "",
            "tests/helpers.py": "",
            "tests/.venv/lib/test_vendored.py": "",
            "tests/node_modules/test_js.py": "",
        },
    )
    assert sorted(find_test_files(tmp_path, ["tests"])) == ["tests/sub/b_test.py", "tests/test_a.py"]
    assert sorted(find_test_files(tmp_path, ["missing"])) == ["tests/sub/b_test.py", "tests/test_a.py"]
