"""A test environment that lacks an install is an ``environment`` category whose report says what to install."""

from __future__ import annotations

from pathlib import Path

from fixloop.agents.report_only import report_reason
from fixloop.agents.triage import categorize
from fixloop.config import Settings
from fixloop.records import EvidenceBundle, EvidenceItem, TestRun
from fixloop.tools.realness import check_realness
from fixloop.tools.run_tests import run_tests
from tests.tools.conftest import write_files

SUITE = {
    "tests/test_missing.py": "import missing_pkg_xyz\n\n\ndef test_a():\n    pass\n",
    "tests/test_own.py": "import mypkg.gone\n\n\ndef test_b():\n    pass\n",
    "tests/test_plugin.py": "def test_c(mocker):\n    pass\n\n\nasync def test_d():\n    pass\n",
    "mypkg/__init__.py": "",
    # a circular import inside the repository's own package, and its package importing a missing install
    "tests/test_circular.py": "from circ import A\n\n\ndef test_e():\n    assert A == 1\n",
    "circ/__init__.py": "from .a import A as A\n",
    "circ/a.py": "from .b import B as B\n\nA = 1\n",
    "circ/b.py": "from .a import A as A\n\nB = 2\n",
    "tests/test_needs_dep.py": "import needy\n\n\ndef test_f():\n    pass\n",
    "needy/__init__.py": "import missing_dep_xyz as missing_dep_xyz\n",
}


def _reports(run: TestRun, repo: Path) -> dict[str, tuple[str, str]]:
    """Each category's first test -> (kind, report reason), with its tests' output as its evidence."""
    by_id = {r.nodeid: r for r in run.results}
    out: dict[str, tuple[str, str]] = {}
    for category in categorize(run, check_realness(run, Settings()), repo=repo):
        outputs = [by_id[t].longrepr for t in category.tests if t in by_id]
        items = [EvidenceItem(id=f"E{n}", kind="test-output", title="", text=t) for n, t in enumerate(outputs, 1)]
        bundle = EvidenceBundle(category_id=category.id, items=items)
        reason = report_reason(category, bundle, target=None, repo=repo, interpreter=run.interpreter)
        out[category.tests[0]] = (category.kind, reason)
    return out


def test_a_missing_module_or_plugin_is_a_report_saying_what_to_install(tmp_path: Path) -> None:
    repo = write_files(tmp_path / "repo", SUITE)
    run = run_tests(repo, ["tests"], Settings(), out_dir=tmp_path / "out", extra_args=["-p", "no:asyncio"])
    reports = _reports(run, repo)
    kind, reason = reports["tests/test_missing.py"]
    assert kind == "environment"
    assert reason.startswith("environment: the tests cannot import 'missing_pkg_xyz'; install missing_pkg_xyz")
    assert run.interpreter in reason
    assert reports["tests/test_plugin.py::test_c"][0] == "environment"
    assert "install pytest-mock" in reports["tests/test_plugin.py::test_c"][1]
    assert reports["tests/test_plugin.py::test_d"][0] == "environment"
    assert "no async pytest plugin is installed" in reports["tests/test_plugin.py::test_d"][1]


def test_a_module_the_repository_provides_is_a_code_fault_not_an_install(tmp_path: Path) -> None:
    repo = write_files(tmp_path / "repo", SUITE)
    run = run_tests(repo, ["tests/test_own.py"], Settings(), out_dir=tmp_path / "out")
    kind, reason = _reports(run, repo)["tests/test_own.py"]
    assert (kind, reason) == ("protocol", "")  # a code fault, and a fix may be tried: mypkg is the repository's own


def test_a_circular_import_in_the_package_is_a_code_fault_and_its_missing_install_stays_environment(
    tmp_path: Path,
) -> None:
    repo = write_files(tmp_path / "repo", SUITE)
    run = run_tests(repo, ["tests/test_circular.py", "tests/test_needs_dep.py"], Settings(), out_dir=tmp_path / "out")
    assert any("partially initialized module 'circ." in e for e in run.collection_errors)
    reports = _reports(run, repo)
    assert reports["tests/test_circular.py"] == ("protocol", "")
    kind, reason = reports["tests/test_needs_dep.py"]
    assert kind == "environment"
    assert "install missing_dep_xyz" in reason
