"""Run pytest for real in a subprocess, in the target repo's own environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fixloop.config import Settings
from fixloop.errors import TestRunError
from fixloop.records import Connection, TestResult, TestRun

PLUGIN_DIR = Path(__file__).resolve().parent / "pytest_plugin"
PLUGIN_NAME = "fixloop_report"
REPORT_FILE = "fixloop-report.jsonl"
OUTPUT_FILE = "pytest-output.txt"
JUNIT_FILE = "junit.xml"
TAIL_CHARS = 8000
KILL_GRACE = 5.0


def pytest_argv(repo: Path, settings: Settings) -> tuple[list[str], str]:
    """The argv prefix that runs pytest for ``repo`` and the interpreter it uses.

    The repo's ``.venv/bin/python`` wins, then ``tests.command``, then ``tests.interpreter``, then ours.
    """
    venv = repo / ".venv" / "bin" / "python"
    if venv.exists():
        return [str(venv), "-m", "pytest"], str(venv)
    if settings.tests.command:
        return list(settings.tests.command), settings.tests.command[0]
    if settings.tests.interpreter:
        return [settings.tests.interpreter, "-m", "pytest"], settings.tests.interpreter
    return [sys.executable, "-m", "pytest"], sys.executable


def module_available(interpreter: str, module: str, env: dict[str, str]) -> bool:
    """Whether ``module`` imports in ``interpreter`` (e.g. xdist in the target's venv)."""
    code = f"import importlib.util,sys; sys.exit(0 if importlib.util.find_spec({module!r}) else 1)"
    try:
        return subprocess.run([interpreter, "-c", code], env=env, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def run_tests(
    repo: Path,
    targets: list[str],
    settings: Settings,
    *,
    env: dict[str, str] | None = None,
    out_dir: Path | None = None,
    timeout: float | None = None,
    workers: int = 0,
    run_timeout: float | None = None,
    extra_args: list[str] | None = None,
) -> TestRun:
    """Run ``targets`` (files or node ids) and return structured results (JUnit XML kept in out_dir)."""
    repo = repo.resolve()
    if not repo.is_dir():
        raise TestRunError(f"repo {repo} is not a folder")
    out = (out_dir or Path(tempfile.mkdtemp(prefix="fixloop-test-"))).resolve()
    out.mkdir(parents=True, exist_ok=True)
    report = out / REPORT_FILE
    for old in out.glob(REPORT_FILE + "*"):
        old.unlink()
    per_test = timeout if timeout is not None else settings.tests.timeout
    whole = run_timeout if run_timeout is not None else settings.tests.run_timeout
    prefix, interpreter = pytest_argv(repo, settings)
    child_env = _child_env(settings, env, report, per_test)
    workers = workers or settings.tests.workers
    parallel = ["-n", str(workers)] if workers > 0 and module_available(interpreter, "xdist", child_env) else []
    junit = out / JUNIT_FILE
    command = [
        *prefix,
        "-p",
        PLUGIN_NAME,
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        "--continue-on-collection-errors",
        "-q",
        "-rfEs",
        *parallel,
        *(extra_args or []),
        *targets,
    ]
    started = datetime.now(UTC)
    exit_code, timed_out = _execute(command, repo, child_env, out / OUTPUT_FILE, whole)
    finished = datetime.now(UTC)
    records = _read_records(out)
    results, collection_errors = _results(records, repo, timed_out, per_test)
    output = (out / OUTPUT_FILE).read_text(encoding="utf-8", errors="replace")
    if exit_code in (3, 4) and not results and not collection_errors:
        collection_errors.append(_tail(output, 2000) or f"pytest exited with code {exit_code}")
    return TestRun(
        command=command,
        interpreter=interpreter,
        cwd=str(repo),
        started_at=started,
        finished_at=finished,
        exit_code=exit_code,
        results=results,
        collection_errors=collection_errors,
        selected=list(targets),
        collected=len(results),
        junit_xml=str(junit) if junit.exists() else None,
        timed_out=timed_out,
        stdout_tail=_tail(output, TAIL_CHARS),
    )


run_tests.__test__ = False  # type: ignore[attr-defined]


def _child_env(settings: Settings, env: dict[str, str] | None, report: Path, per_test: float) -> dict[str, str]:
    child = dict(os.environ)
    child.update(settings.target.env)
    child.update(env or {})
    child["PYTHONPATH"] = os.pathsep.join(p for p in [str(PLUGIN_DIR), child.get("PYTHONPATH", "")] if p)
    child["FIXLOOP_REPORT_FILE"] = str(report)
    if per_test > 0:
        child["FIXLOOP_TEST_TIMEOUT"] = f"{per_test:g}"
        child["PYTEST_TIMEOUT"] = f"{per_test:g}"  # honoured by pytest-timeout when the target has it
    child.pop("PYTEST_ADDOPTS", None)
    child.pop("PYTEST_XDIST_WORKER", None)
    child.setdefault("PYTHONUNBUFFERED", "1")
    return child


def _execute(command: list[str], cwd: Path, env: dict[str, str], output: Path, limit: float) -> tuple[int, bool]:
    """Run pytest in its own process group; kill the group when it outlives ``limit``."""
    with output.open("wb") as sink:
        try:
            proc = subprocess.Popen(
                command, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            raise TestRunError(f"cannot start pytest ({command[0]}): {exc}") from None
        expired = threading.Event()

        def on_limit() -> None:
            expired.set()
            _kill_group(proc)

        # a timer instead of wait(timeout=...): that one polls with sleeps and adds up to 50 ms
        timer = threading.Timer(limit, on_limit) if limit > 0 else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        try:
            code = proc.wait()
        finally:
            if timer is not None:
                timer.cancel()
        return code, expired.is_set()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


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
