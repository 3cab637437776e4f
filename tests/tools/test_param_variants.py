"""Focus words select the parametrized variants that fixture params name (``test_x[h11]`` for ``h11``)."""

from __future__ import annotations

from pathlib import Path

from fixloop.config import Settings
from fixloop.tools.focus import parse_focus
from fixloop.tools.param_variants import fixture_closure, fixture_defs, focus_variants, parametrization
from fixloop.tools.run_tests import run_tests
from fixloop.tools.select_tests import select_tests
from tests.tools.conftest import write_files

# A suite in the shape of an HTTP client library's: one backend fixture parametrized in conftest.py; the test
# files never say "h11", they request a ``client`` fixture that requests ``backend``.
SUITE = {
    "tests/__init__.py": "",
    "tests/conftest.py": """
        import pytest


        @pytest.fixture(params=["h11", "wsproto"])
        def backend(request):
            return request.param


        @pytest.fixture
        def client(backend):
            return {"backend": backend}
    """,
    "tests/test_connection.py": """
        import pytest


        def test_send(client):
            assert client["backend"] in ("h11", "wsproto")


        class TestClose:
            def test_close(self, client):
                assert client


        @pytest.mark.parametrize("size", [1, 2])
        def test_chunks(client, size):
            assert size


        def test_without_backend():
            assert True
    """,
    "tests/test_codec.py": """
        def test_encode():
            assert b"x"
    """,
}


def test_the_focus_selects_the_variants_its_fixture_param_names_and_pytest_runs_exactly_those(tmp_path: Path) -> None:
    repo = write_files(tmp_path / "repo", SUITE)
    selection = select_tests(repo, "h11", Settings())
    targets = selection.test_targets()
    assert sorted(targets) == [
        "tests/test_connection.py::TestClose::test_close[h11]",
        "tests/test_connection.py::test_chunks[h11-1]",
        "tests/test_connection.py::test_chunks[h11-2]",
        "tests/test_connection.py::test_send[h11]",
    ]
    (chosen,) = [f for t in selection.tiers for f in t.files]
    assert "4 parametrized variants [h11, h11-1, h11-2]" in chosen.reason and "fixture params: backend" in chosen.reason

    run = run_tests(repo, targets, Settings())
    assert sorted(r.nodeid for r in run.results) == sorted(targets)
    assert run.counts() == {"passed": 4}


def test_no_fixture_param_names_the_focus_no_collection_no_variants(tmp_path: Path) -> None:
    repo = write_files(tmp_path / "repo", SUITE)
    assert focus_variants(repo, ["tests/test_connection.py"], ["tests"], parse_focus("http2"), Settings()) == {}
    assert select_tests(repo, "http2", Settings()).test_targets() == []


def test_fixture_params_ids_names_and_requests_are_read_from_the_source() -> None:
    source = """
import pytest
from pytest import fixture

@pytest.fixture(params=[pytest.param("a", id="h2-tls"), 3, b"raw", None], name="proto")
def _proto(request, tmp_path):
    return request.param

@fixture(params=[object()], ids=["h11-only"])
def other(proto):
    return proto

def not_a_fixture(proto):
    pass
"""
    proto, other = fixture_defs(source)
    assert (proto.name, proto.requests, proto.param_ids) == ("proto", {"tmp_path"}, ["h2-tls", "3", "raw"])
    assert (other.name, other.requests, other.param_ids) == ("other", {"proto"}, ["h11-only"])
    assert fixture_closure([proto, other], {"proto"}) == {"proto", "other"}
    assert parametrization("tests/t.py::C::test_x[h11-1]") == "h11-1"
    assert parametrization("tests/t.py::test_x") == ""
