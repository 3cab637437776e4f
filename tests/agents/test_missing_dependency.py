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
    assert (kind, reason) == ("environment", "")  # "" = a fix may be tried: mypkg is the repository's own
