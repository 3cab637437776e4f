"""Coverage spectra: a real re-run under coverage.py with one context per test, ranked by Ochiai."""

from __future__ import annotations

from pathlib import Path

from fixloop.agents.triage import categorize
from fixloop.config import Settings, TargetSettings, TestSettings
from fixloop.tools.localize import localize
from fixloop.tools.pytest_process import COVERAGE_FILE
from fixloop.tools.run_tests import run_tests
from fixloop.tools.spectrum import line_contexts, measure_coverage, run_data_files, spectrum_tests
from tests.tools.conftest import write_files
from tests.tools.library_repo import LIBRARY, WRONG_VALUE, make_library, run_library

NO_RECORDING = Settings(target=TargetSettings(server=False), tests=TestSettings(spectrum_during_run=False))


def test_the_faulty_function_is_the_one_only_failing_tests_run_and_it_joins_the_ranking_with_its_reason(
    tmp_path: Path,
) -> None:
    root = make_library(tmp_path / "lib", WRONG_VALUE)
    run = run_library(root, NO_RECORDING)
    assert run_data_files(run) == []  # this run recorded no coverage: the spectrum re-runs its tests
    (category,) = categorize(run, [], repo=root)
    assert category.tests == ["tests/test_accounts.py::test_single_amount"]
    # without a spectrum: the call path of the failing assertion (ledger.balance) is all there is
    assert localize(category, run, repo=root, commits=[])[0].function == "Ledger.balance"

    coverage = measure_coverage([category], run, repo=root, settings=NO_RECORDING)
    assert not coverage.during_run and coverage.seconds > 0
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


def test_a_run_that_records_coverage_needs_no_re_run_and_ranks_the_same(tmp_path: Path) -> None:
    root = make_library(tmp_path / "lib", WRONG_VALUE)
    run = run_library(root)  # the default: the run records the lines of each test itself
    (data_file,) = run_data_files(run)
    assert data_file.name == COVERAGE_FILE
    (category,) = categorize(run, [], repo=root)
    coverage = measure_coverage([category], run, repo=root, settings=LIBRARY)
    assert coverage.during_run and coverage.seconds == 0.0  # read, not re-run
    spectrum = coverage.spectrum(category)
    assert spectrum.during_run and (spectrum.total_failed, spectrum.total_passed) == (1, 4)
    top = localize(category, run, repo=root, commits=[], spectrum=spectrum)[0]
    assert (top.file, top.function) == ("ledger/parsing.py", "parse_amount")
    # collection is not traced: the module-level lines of the package are not in the data, its functions are
    lines = line_contexts(root, [data_file])["ledger/parsing.py"]
    assert 4 not in lines and any("test_single_amount" in t for t in lines[9])


def test_a_second_run_in_the_same_folder_does_not_mix_the_first_runs_lines(tmp_path: Path) -> None:
    root = make_library(tmp_path / "lib", WRONG_VALUE)
    out = tmp_path / "out"
    run_tests(root, ["tests/test_report.py"], LIBRARY, out_dir=out)
    second = run_tests(root, ["tests/test_accounts.py::test_single_amount"], LIBRARY, out_dir=out)
    tests = {
        t for per_line in line_contexts(root, run_data_files(second)).values() for ts in per_line.values() for t in ts
    }
    assert tests - {""} == {"tests/test_accounts.py::test_single_amount"}


def test_xdist_workers_each_write_their_file_and_the_spectrum_reads_them_all(tmp_path: Path) -> None:
    root = make_library(tmp_path / "lib", WRONG_VALUE)
    run = run_tests(root, ["tests"], Settings(target=TargetSettings(server=False), tests=TestSettings(workers=2)))
    assert "-n" in run.command
    files = run_data_files(run)
    assert sorted(f.name for f in files) == [f"{COVERAGE_FILE}.gw0", f"{COVERAGE_FILE}.gw1"]
    (category,) = categorize(run, [], repo=root)
    spectrum = measure_coverage([category], run, repo=root, settings=LIBRARY).spectrum(category)
    assert spectrum.during_run and (spectrum.total_failed, spectrum.total_passed) == (1, 4)
    assert spectrum.functions[0].function == "parse_amount"


def test_without_coverage_in_the_targets_environment_the_run_goes_on_and_the_spectrum_says_why(
    tmp_path: Path,
) -> None:
    root = make_library(tmp_path / "lib", WRONG_VALUE)
    # a coverage package that cannot be imported shadows the real one in the target's environment
    write_files(tmp_path / "shadow", {"coverage/__init__.py": "raise ImportError('no coverage.py here')\n"})
    settings = Settings.model_validate({"target": {"server": False, "env": {"PYTHONPATH": str(tmp_path / "shadow")}}})
    run = run_library(root, settings)
    assert run.counts() == {"passed": 6, "failed": 1}
    assert not any(f.exists() for f in run_data_files(run))
    (category,) = categorize(run, [], repo=root)
    spectrum = measure_coverage([category], run, repo=root, settings=settings, env=settings.target.env).spectrum(
        category
    )
    assert spectrum.functions == [] and "coverage.py is not installed" in spectrum.note


def test_a_service_targets_run_records_no_coverage_its_spectrum_re_runs(tmp_path: Path) -> None:
    root = make_library(tmp_path / "lib", WRONG_VALUE)
    run = run_library(root, Settings())  # target.server = true (the default): tests of a server elsewhere
    assert run_data_files(run) == [] and "--fixloop-coverage" not in " ".join(run.command)
    (category,) = categorize(run, [], repo=root)
    coverage = measure_coverage([category], run, repo=root, settings=Settings())
    assert not coverage.during_run and coverage.spectrum(category).functions[0].function == "parse_amount"
