"""Run pytest for real in a subprocess, in the target repo's own environment, and read its results.

Starting and stopping the process is ``tools/pytest_process.py``; ``tools/round_results.py`` reads what
one process's reporting plugin wrote; this module restarts pytest after a hang or a crash and merges the
rounds into one ``TestRun``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Unpack

from fixloop.config import Settings
from fixloop.progress import watch_tests
from fixloop.records import TestRun
from fixloop.tools.durations import record_durations
from fixloop.tools.pytest_process import PytestOptions, StartedTests, start_next_round, start_pytest, time_left
from fixloop.tools.round_results import TAIL_CHARS, Round, read_round, tail


def run_tests(repo: Path, targets: list[str], settings: Settings, **options: Unpack[PytestOptions]) -> TestRun:
    """Run ``targets`` (files or node ids) and return structured results (JUnit XML kept in out_dir).

    ``options`` are ``start_pytest``'s: env, out_dir, timeout, workers, run_timeout, extra_args.
    """
    return collect_run(start_pytest(repo, targets, settings, **options))


run_tests.__test__ = False  # type: ignore[attr-defined]


def collect_run(started: StartedTests) -> TestRun:
    """Wait for a started pytest and read its structured results.

    When the process ends before its tests do (the plugin's watchdog ended a hung test, or it crashed:
    a segfault, ``os._exit``, SIGKILL), a new pytest runs the collected tests that have no result yet,
    up to ``tests.max_restarts`` times and within the whole-run limit; the rounds merge into one run.
    """
    with watch_tests(started.out):  # the test counter goes to the current progress stage, if any
        rounds = [read_round(started)]
        while (targets := _next_targets(rounds)) is not None:
            rounds[-1].ended.restarted = True  # type: ignore[union-attr]  # _next_targets only goes on after an end
            rounds.append(read_round(start_next_round(rounds[-1].started, targets)))
    run = _merge(rounds)
    record_durations(started.repo, run)  # selection fills the first phase's time budget from these
    return run


def _next_targets(rounds: list[Round]) -> list[str] | None:
    """The tests a new pytest process should run after the last round, or None to stop."""
    last = rounds[-1]
    settings = last.started.settings
    if last.ended is None or last.ended.reason == "run-timeout" or len(rounds) > settings.tests.max_restarts:
        return None
    if last.collected is None or not last.results:
        return None  # nothing collected or nothing ran: a new process would end the same way
    left = time_left(last.started)
    if left is not None and left <= 1.0:
        return None
    done = set().union(*(r.done for r in rounds))
    remaining = [nodeid for nodeid in _all_collected(rounds) if nodeid not in done]
    return remaining or None


def _all_collected(rounds: list[Round]) -> list[str]:
    seen: dict[str, None] = {}
    for r in rounds:
        for nodeid in r.collected or []:
            seen.setdefault(nodeid, None)
    return list(seen)


def _merge(rounds: list[Round]) -> TestRun:
    first, last = rounds[0], rounds[-1]
    results = [result for r in rounds for result in r.results]
    done = {result.nodeid for result in results}
    errors = list(dict.fromkeys(e for r in rounds for e in r.collection_errors))
    collected = _all_collected(rounds)
    if first.collected is None and first.ended is not None:
        never_ran = [t for t in first.started.targets if t not in done]  # collection never finished: the targets
    else:
        never_ran = [nodeid for nodeid in collected if nodeid not in done]
    junit = next((r.started.junit_file for r in reversed(rounds) if r.started.junit_file.exists()), None)
    output = "\n".join(
        r.output if i == 0 else f"--- round {r.started.round}: {' '.join(r.started.targets)[:300]} ---\n{r.output}"
        for i, r in enumerate(rounds)
    )
    return TestRun(
        command=first.started.command,
        interpreter=first.started.interpreter,
        cwd=str(first.started.repo),
        started_at=first.started.started_at,
        finished_at=last.started.finished_at or datetime.now(UTC),
        exit_code=next((r.exit_code for r in rounds if r.ended is not None), last.exit_code),
        results=results,
        collection_errors=errors,
        selected=list(first.started.targets),
        collected=max(len(collected), len(results)),
        junit_xml=str(junit) if junit else None,
        timed_out=any(r.started.timed_out for r in rounds),
        stdout_tail=tail(output, TAIL_CHARS),
        never_ran=never_ran,
        rounds=len(rounds),
        child_exits=[r.ended for r in rounds if r.ended is not None],
    )
