"""Run pytest for real in a subprocess, in the target repo's own environment, and read its results.

Starting and stopping the process is ``tools/pytest_process.py``; this module turns what the
reporting plugin wrote into ``TestResult`` records.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Unpack

from fixloop.config import Settings
from fixloop.progress import watch_tests
from fixloop.records import Connection, TestResult, TestRun
from fixloop.tools.pytest_process import REPORT_FILE, PytestOptions, StartedTests, start_pytest

TAIL_CHARS = 8000


def run_tests(repo: Path, targets: list[str], settings: Settings, **options: Unpack[PytestOptions]) -> TestRun:
    """Run ``targets`` (files or node ids) and return structured results (JUnit XML kept in out_dir).

    ``options`` are ``start_pytest``'s: env, out_dir, timeout, workers, run_timeout, extra_args.
    """
    return collect_run(start_pytest(repo, targets, settings, **options))


run_tests.__test__ = False  # type: ignore[attr-defined]


def collect_run(started: StartedTests) -> TestRun:
    """Wait for a started pytest and read its structured results (its test counter goes to the current
    progress stage meanwhile, if there is one: ``progress.watch_tests``)."""
    with watch_tests(started.out):
        exit_code = started.wait()
    finished = started.finished_at or datetime.now(UTC)
    records = _read_records(started.out)
    results, collection_errors = _results(records, started.repo, started.timed_out, started.per_test)
    output = started.output_file.read_text(encoding="utf-8", errors="replace")
    if exit_code in (3, 4) and not results and not collection_errors:
        collection_errors.append(_tail(output, 2000) or f"pytest exited with code {exit_code}")
    junit = started.junit_file
    return TestRun(
        command=started.command,
        interpreter=started.interpreter,
        cwd=str(started.repo),
        started_at=started.started_at,
        finished_at=finished,
        exit_code=exit_code,
        results=results,
        collection_errors=collection_errors,
        selected=list(started.targets),
        collected=len(results),
        junit_xml=str(junit) if junit.exists() else None,
        timed_out=started.timed_out,
        stdout_tail=_tail(output, TAIL_CHARS),
    )


def _read_records(out: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for path in sorted(out.glob(REPORT_FILE + "*")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a kill
    return records


def _results(
    records: list[dict[str, Any]], repo: Path, timed_out: bool, per_test: float
) -> tuple[list[TestResult], list[str]]:
    prefix = ""
    for rec in records:
        if rec.get("type") == "session":
            root = Path(rec["rootdir"]).resolve()
            if root != repo and root.is_relative_to(repo):
                prefix = root.relative_to(repo).as_posix() + "/"
            break
    results: list[TestResult] = []
    errors: list[str] = []
    started: dict[str, float] = {}
    finished: set[str] = set()
    for rec in records:
        kind = rec.get("type")
        if kind == "start":
            started[rec["nodeid"]] = rec["at"]
        elif kind == "collect_error":
            errors.append(f"{prefix}{rec['nodeid']}: {rec['longrepr']}")
        elif kind == "test":
            finished.add(rec["nodeid"])
            results.append(_result(rec, prefix))
    for nodeid, at in started.items():
        if nodeid not in finished:  # the process died or was killed inside this test
            why = "the whole run hit its timeout" if timed_out else "the pytest process died"
            results.append(
                TestResult(
                    nodeid=prefix + nodeid,
                    outcome="error",
                    phase="call",
                    longrepr=f"Timeout: {why} while this test ran (per-test limit {per_test:g} s)",
                    started_at=datetime.fromtimestamp(at, UTC),
                    file=prefix + nodeid.split("::")[0],
                )
            )
    return results, errors


def _result(rec: dict[str, Any], prefix: str) -> TestResult:
    def stamp(value: Any) -> datetime | None:
        return datetime.fromtimestamp(float(value), UTC) if value else None

    nodeid = prefix + rec["nodeid"]
    return TestResult(
        nodeid=nodeid,
        outcome=rec["outcome"],
        phase=rec["phase"],
        duration=float(rec.get("duration") or 0.0),
        call_duration=None if rec.get("call_duration") is None else float(rec["call_duration"]),
        longrepr=rec.get("longrepr", ""),
        stdout=rec.get("stdout", ""),
        stderr=rec.get("stderr", ""),
        log=rec.get("log", ""),
        skip_reason=rec.get("skip_reason", ""),
        started_at=stamp(rec.get("started_at")),
        finished_at=stamp(rec.get("finished_at")),
        connections=[Connection(**c) for c in rec.get("connections", [])],
        file=nodeid.split("::")[0],
        keywords=list(rec.get("keywords", [])),
    )


def _tail(text: str, limit: int) -> str:
    return text if len(text) <= limit else "…" + text[-limit:]
