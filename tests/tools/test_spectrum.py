"""Coverage spectra: a real re-run under coverage.py with one context per test, ranked by Ochiai."""

from __future__ import annotations

from pathlib import Path

from fixloop.agents.triage import categorize
from fixloop.config import Settings, TestSettings
from fixloop.tools.localize import localize
from fixloop.tools.spectrum import measure_coverage, spectrum_tests
from tests.tools.library_repo import WRONG_VALUE, make_library, run_library


def test_the_faulty_function_is_the_one_only_failing_tests_run_and_it_joins_the_ranking_with_its_reason(
    tmp_path: Path,
) -> None:
    root = make_library(tmp_path / "lib", WRONG_VALUE)
    run = run_library(root)
    (category,) = categorize(run, [], repo=root)
    assert category.tests == ["tests/test_accounts.py::test_single_amount"]
    # without a spectrum: the call path of the failing assertion (ledger.balance) is all there is
    assert localize(category, run, repo=root, commits=[])[0].function == "Ledger.balance"

    coverage = measure_coverage([category], run, repo=root, settings=Settings())
    spectrum = coverage.spectrum(category)
    assert (spectrum.total_failed, spectrum.total_passed) == (1, 4)  # the other tests of the failing test's file
    package = [f for f in spectrum.functions if f.file.startswith("ledger/")]
    assert (package[0].function, package[0].failed, package[0].passed) == ("parse_amount", 1, 0)

    top = localize(category, run, repo=root, commits=[], spectrum=spectrum)[0]
    assert (top.file, top.function) == ("ledger/parsing.py", "parse_amount")
    assert "executed by 1/1 failing and 0/4 passing tests (Ochiai 1.00)" in top.reasons


def test_the_re_run_is_bounded_by_test_count_and_recorded_seconds(tmp_path: Path) -> None:
    root = make_library(tmp_path / "lib", WRONG_VALUE)
    run = run_library(root)
    (category,) = categorize(run, [], repo=root)
    failing, passing = spectrum_tests([category], run, Settings(tests=TestSettings(spectrum_max_tests=3)))
    assert failing == ["tests/test_accounts.py::test_single_amount"] and len(passing) == 2
    assert all(p.startswith("tests/test_accounts.py::") for p in passing)  # the failing test's file only
    failing, passing = spectrum_tests([category], run, Settings(tests=TestSettings(spectrum_max_seconds=1e-9)))
    assert passing == []
