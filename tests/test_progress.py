"""The progress channel: stages announce themselves, a pytest run reports its counter into the current stage,
and the terminal notifier shows it as timestamped lines when it is not on a terminal."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from fixloop.config import load_settings
from fixloop.notify import TerminalNotifier
from fixloop.progress import ProgressEvent, ReportReader, read_counts, stage
from fixloop.tools.run_tests import run_tests

SUITE = """
import time

def test_one():
    pass

def test_slow():
    time.sleep(1.5)

def test_three():
    pass
"""


def test_counts_come_from_the_plugins_records(tmp_path: Path) -> None:
    records = [
        {"type": "collected", "nodeids": ["t.py::a", "t.py::b", "t.py::c"]},
        {"type": "start", "nodeid": "t.py::a"},
        {"type": "test", "nodeid": "t.py::a"},
        {"type": "start", "nodeid": "t.py::b"},
    ]
    (tmp_path / "fixloop-report.jsonl").write_text("\n".join(map(json.dumps, records)) + '\n{"type": "te')
    assert read_counts(tmp_path) == (1, 3, "t.py::b")  # a line being written is skipped


def test_the_reader_reads_each_record_once_as_lines_are_completed(tmp_path: Path) -> None:
    report = tmp_path / "fixloop-report.jsonl"
    report.write_text('{"type": "start", "nodeid": "t.py::a"}\n{"type": "te')
    reader = ReportReader(tmp_path)
    assert reader.read() == (0, 0, "t.py::a")
    with report.open("a") as handle:
        handle.write('st", "nodeid": "t.py::a"}\n')
    (tmp_path / "round-2").mkdir()
    (tmp_path / "round-2" / "fixloop-report.jsonl").write_text('{"type": "test", "nodeid": "t.py::b"}\n')
    assert reader.read() == (2, 0, "")  # the completed line once, and a restart's records
    assert reader.read() == (2, 0, "")


def test_a_stress_stage_tells_which_run_it_is_in() -> None:
    event = ProgressEvent(stage="stress", text="2 tests x 5 runs", total=5, tests_done=5, tests_total=10)
    assert event.describe().startswith("stress 3/5: 2 tests x 5 runs, 5/10 tests")


def test_a_pytest_run_inside_a_stage_reports_its_counter_as_plain_lines(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    (repo / "tests" / "test_suite.py").write_text(SUITE)
    stream = io.StringIO()
    display = TerminalNotifier(stream, live=False, plain_every=0.0)  # every change is a line
    events: list[ProgressEvent] = []

    def emit(event: ProgressEvent) -> None:
        events.append(event)
        display.progress("t-1", event)

    with stage(emit, "re-run", "3 failing tests", step=1, total=3):
        run = run_tests(repo, ["tests/test_suite.py"], load_settings(repo), out_dir=tmp_path / "out")
    assert run.counts() == {"passed": 3}
    lines = stream.getvalue().splitlines()
    assert re.fullmatch(r"\d\d:\d\d:\d\d re-run 1/3: 3 failing tests \(0 s\)", lines[0]), lines[0]
    assert lines[-1].startswith(lines[-1][:9] + "re-run 1/3: 3 failing tests, 3/3 tests, done")
    assert any("waiting for test tests/test_suite.py::test_slow" in line for line in lines), lines
    assert events[-1].done and events[-1].tests_done == events[-1].tests_total == 3
