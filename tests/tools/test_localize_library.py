"""Localization on a small real-looking library (no log backend, faults in its helper modules)."""

from __future__ import annotations

from pathlib import Path

from fixloop.agents.triage import categorize
from fixloop.config import Settings
from fixloop.records import Category
from fixloop.tools.evidence import gather_evidence
from fixloop.tools.localize import localize
from fixloop.tools.spectrum import measure_coverage
from tests.agents import failure_samples as samples
from tests.tools.conftest import write_files
from tests.tools.library_repo import OFF_BY_ONE, WRONG_SEPARATOR, WRONG_VALUE, make_library, run_library


def test_an_error_raised_in_the_package_ranks_its_function_first(tmp_path: Path) -> None:
    root = make_library(tmp_path / "lib", OFF_BY_ONE)
    run = run_library(root)
    category = next(c for c in categorize(run, [], repo=root) if "tests/test_accounts.py::test_latest_entry" in c.tests)
    top = localize(category, run, repo=root, commits=[])[0]
    assert (top.file, top.function, top.line) == ("ledger/accounts.py", "Ledger.latest", 25)
    assert "raised here (innermost frame of the failure)" in top.reasons


def test_without_a_log_backend_the_tests_captured_log_is_the_evidence(tmp_path: Path) -> None:
    root = make_library(tmp_path / "lib", WRONG_SEPARATOR)
    run = run_library(root)
    category = next(
        c for c in categorize(run, [], repo=root) if "tests/test_accounts.py::test_single_amount" in c.tests
    )
    bundle = gather_evidence(category, run, repo=root, logs=None, settings=Settings(), commits=[])
    assert any("captured logs give" in note for note in bundle.notes)
    assert any(item.kind == "log-line" and "parse_amount" in item.text for item in bundle.items)
    top = bundle.locations[0]
    assert (top.file, top.function) == ("ledger/parsing.py", "parse_amount")


def test_experiments_examples_and_tests_never_rank_above_the_package_unless_the_test_is_the_defect(
    tmp_path: Path,
) -> None:
    root = make_library(tmp_path / "lib", OFF_BY_ONE)
    test = "tests/test_accounts.py::test_latest_entry"
    run = samples.make_run([samples.result(test, longrepr="E   AssertionError")], cwd=str(root))
    flaky = Category(id="flaky-1", kind="flaky", title="Flaky", tests=["tests/test_accounts.py::test_latest_entry"])
    ranked = [loc.file for loc in localize(flaky, run, repo=root, commits=[])]
    # both rebind module-level state; the experiments script sorts first by name, the package wins
    assert ranked[:2] == ["ledger/parsing.py", "experiments/try_parse.py"]
    defect = flaky.model_copy(update={"kind": "test-defect", "id": "test-defect-1"})
    assert localize(defect, run, repo=root, commits=[])[0].file == "tests/test_accounts.py"


def test_a_failing_assertion_in_the_test_points_at_the_package_functions_it_calls(tmp_path: Path) -> None:
    root = make_library(tmp_path / "lib", WRONG_VALUE)
    run = run_library(root)
    (category,) = categorize(run, [], repo=root)
    assert category.tests == ["tests/test_accounts.py::test_single_amount"]  # assert ledger.balance("pay") == 1050
    top = localize(category, run, repo=root, commits=[])[0]
    assert (top.file, top.function) == ("ledger/accounts.py", "Ledger.balance")
    assert "called by the test's failing line (ledger.balance)" in top.reasons
    # one level further: make_ledger (a test helper, never ranked) posts the lines
    assert "called (ledger.post) by a function the test's failing line calls" in top.reasons


# The producer of a bad value is changed; the error is raised where the value is consumed (same module).
SHORT_ENTRY = (
    "ledger/accounts.py",
    "self.entries.append(split_fields(line))",
    "self.entries.append(split_fields(line)[:2])",
)


def test_a_recent_commit_that_changed_a_function_the_failing_tests_ran_names_it_over_the_raising_frame(
    tmp_path: Path,
) -> None:
    root = make_library(tmp_path / "lib", SHORT_ENTRY)
    run = run_library(root)
    category = next(
        c for c in categorize(run, [], repo=root) if "tests/test_accounts.py::test_balance_sums_amounts" in c.tests
    )
    spectrum = measure_coverage([category], run, repo=root, settings=Settings()).spectrum(category)
    # without history: where the value was consumed (the raising frame)
    plain = localize(category, run, repo=root, commits=[], spectrum=spectrum)[0]
    assert (plain.file, plain.function) == ("ledger/accounts.py", "Ledger.balance")
    top = localize(category, run, repo=root, spectrum=spectrum)[0]  # the repo's history: the fault's commit
    assert (top.file, top.function) == ("ledger/accounts.py", "Ledger.post")
    assert any(
        r.startswith("recent commit ") and "changed Ledger.post (the failing tests ran it)" in r for r in top.reasons
    )
    assert top.score == plain.score + 1.5  # W_COMMIT for the file only: history does not move the file further


CODEC = {
    "codec/__init__.py": "",
    "codec/ints.py": """
        def encode(value, prefix):
            limit = 2**prefix - 1
            if value <= limit:  # the fault: < became <=, a value equal to the limit loses its continuation byte
                return bytes([value])
            return bytes([limit, value - limit])


        def decode(data, prefix):
            limit = 2**prefix - 1
            first = data[0] & limit
            if first < limit:
                return first
            try:
                return limit + data[1]
            except IndexError as err:
                raise ValueError(f"truncated integer {data!r}") from err
    """,
    "tests/__init__.py": "",
    "tests/test_ints.py": """
        from codec.ints import decode, encode


        def test_round_trip_at_the_limit():
            encoded = encode(7, 3)
            assert decode(encoded, 3) == 7


        def test_round_trip_small():
            assert decode(encode(2, 3), 3) == 2
    """,
}


def test_a_raise_on_an_input_another_package_call_computed_lists_that_producer_as_the_files_second_suspect(
    tmp_path: Path,
) -> None:
    root = write_files(tmp_path / "codec", CODEC)
    run = run_library(root)
    (category,) = categorize(run, [], repo=root)
    ranked = localize(category, run, repo=root, commits=[])
    assert [(loc.file, loc.function) for loc in ranked[:2]] == [
        ("codec/ints.py", "decode"),
        ("codec/ints.py", "encode"),
    ]
    assert "computes the input of the call that raised (encode)" in ranked[1].reasons
