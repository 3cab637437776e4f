"""Start the target's pytest in its own environment and wait for it (or kill it when it outlives its limit).

Light on purpose: it imports neither pydantic models nor the report stack, so a caller can start the
tests first and load what reads their results while the target's pytest starts up (``fixloop test``
does: see ``tools/test_phase.py``). ``tools/run_tests.py`` turns a finished process into a ``TestRun``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypedDict

from fixloop.cleanup import die_with_parent, forget_group, track_group
from fixloop.errors import TestRunError

if TYPE_CHECKING:
    from fixloop.config import Settings

PLUGIN_DIR = Path(__file__).resolve().parent / "pytest_plugin"
PLUGIN_NAME = "fixloop_report"
REPORT_FILE = "fixloop-report.jsonl"
OUTPUT_FILE = "pytest-output.txt"
JUNIT_FILE = "junit.xml"
KILL_GRACE = 5.0
# Per-test coverage (``pytest_plugin/fixloop_coverage.py``): what a coverage spectrum reads (``tools/spectrum.py``)
COVERAGE_PLUGIN = "fixloop_coverage"
COVERAGE_FILE = "fixloop-spectrum.coverage"
COVERAGE_DATA_OPTION = "--fixloop-coverage"
COVERAGE_SOURCE_OPTION = "--fixloop-coverage-source"


VENV_DIRS = (".venv", "venv")


def pytest_argv(repo: Path, settings: Settings) -> tuple[list[str], str]:
    """The argv prefix that runs pytest for ``repo`` and the interpreter it uses.

    What the settings name wins (``tests.command``, then ``tests.interpreter``), then the repo's own
    ``.venv`` or ``venv`` (its plugins and dependencies), then ours.
    """
    if settings.tests.command:
        return list(settings.tests.command), settings.tests.command[0]
    if settings.tests.interpreter:
        return [settings.tests.interpreter, "-m", "pytest"], settings.tests.interpreter
    for name in VENV_DIRS:
        venv = repo / name / "bin" / "python"
        if venv.exists():
            return [str(venv), "-m", "pytest"], str(venv)
    return [sys.executable, "-m", "pytest"], sys.executable


def module_available(interpreter: str, module: str, env: dict[str, str], *, must_import: bool = False) -> bool:
    """Whether ``module`` is found in ``interpreter`` (e.g. xdist in the target's venv); with ``must_import``,
    whether it imports there (found is not enough: a broken or shadowed package fails only on import)."""
    found = f"import importlib.util,sys; sys.exit(0 if importlib.util.find_spec({module!r}) else 1)"
    code = f"import {module}" if must_import else found
    try:
        return subprocess.run([interpreter, "-c", code], env=env, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def coverage_args(out: Path, repo: Path) -> list[str]:
    """pytest arguments that record per-test coverage of ``repo`` into ``out`` (one context per test)."""
    return ["-p", COVERAGE_PLUGIN, f"{COVERAGE_DATA_OPTION}={out / COVERAGE_FILE}", f"{COVERAGE_SOURCE_OPTION}={repo}"]


def _records_coverage(settings: Settings, extra_args: list[str] | None) -> bool:
    """Whether a run records per-test coverage itself, so that a spectrum needs no re-run."""
    if any(arg.startswith(COVERAGE_DATA_OPTION) for arg in extra_args or []):
        return False  # the caller asks for it already (the spectrum's re-run)
    during_run = settings.tests.spectrum_during_run
    if during_run is None:
        # auto: a service target's tests mostly drive a server in another process (coverage of the test process
        # measures the client only, and a spectrum is rarely wanted): they run untraced, at plain pytest's speed;
        # a library's tests (``target.server = false``) are traced, so its spectrum needs no re-run.
        during_run = not settings.target.server
    return settings.tests.spectrum and during_run


class PytestOptions(TypedDict, total=False):
    """The keyword options of ``start_pytest``, for callers that pass them through (``run_tests``)."""

    env: dict[str, str] | None
    out_dir: Path | None
    timeout: float | None
    workers: int
    run_timeout: float | None
    extra_args: list[str] | None


@dataclass
class StartedTests:
    """A pytest process that is running (or has run) ``targets``; ``wait()`` once for its exit code."""

    repo: Path
    out: Path
    targets: list[str]
    command: list[str]
    interpreter: str
    per_test: float
    started_at: datetime
    process: subprocess.Popen[bytes]
    output_sink: BinaryIO
    timer: threading.Timer | None
    settings: Settings
    options: PytestOptions  # what started it, to start the next round the same way
    run_deadline: float | None = None  # time.monotonic() at which the whole run (every round) ends
    round: int = 1  # 2, 3, ...: a new pytest for the tests a hung or crashed one had not reached
    expired: threading.Event = field(default_factory=threading.Event)
    finished_at: datetime | None = None
    exit_code: int | None = None

    @property
    def report_file(self) -> Path:
        return self.out / REPORT_FILE

    @property
    def output_file(self) -> Path:
        return self.out / OUTPUT_FILE

    @property
    def junit_file(self) -> Path:
        return self.out / JUNIT_FILE

    @property
    def timed_out(self) -> bool:
        return self.expired.is_set()

    def wait(self) -> int:
        """Block until pytest exits (or is killed at the run's limit); returns its exit code.

        Interrupted (Ctrl-C), it stops pytest's whole process group before it lets the interruption through.
        """
        if self.exit_code is None:
            try:
                self.exit_code = self.process.wait()
            except BaseException:  # Ctrl-C or a kill of the caller: pytest, in its own session, would live on
                _kill_group(self.process)
                raise
            finally:
                forget_group(self.process)
                if self.timer is not None:
                    self.timer.cancel()
                self.output_sink.close()
            self.finished_at = datetime.now(UTC)
        return self.exit_code


def start_pytest(
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
    run_deadline: float | None = None,
    round_number: int = 1,
) -> StartedTests:
    """Start pytest on ``targets`` in ``repo`` with fixloop's reporting plugin; it runs in its own process group.

    ``run_deadline`` (``time.monotonic()``) overrides ``run_timeout``: a later round gets what is left.
    """
    repo = repo.resolve()
    if not repo.is_dir():
        raise TestRunError(f"repo {repo} is not a folder")
    out = (out_dir or Path(tempfile.mkdtemp(prefix="fixloop-test-"))).resolve()
    private_folder(out)
    report = out / REPORT_FILE
    for old in out.glob(REPORT_FILE + "*"):
        old.unlink()
    if round_number == 1:  # an earlier run's per-test coverage here must not mix with this run's
        for old in [*out.glob(COVERAGE_FILE + "*"), *out.glob(f"round-*/{COVERAGE_FILE}*")]:
            old.unlink(missing_ok=True)
    per_test = timeout if timeout is not None else settings.tests.timeout
    whole = run_timeout if run_timeout is not None else settings.tests.run_timeout
    if run_deadline is None and whole > 0:
        run_deadline = time.monotonic() + whole
    prefix, interpreter = pytest_argv(repo, settings)
    child_env = _child_env(settings, env, report, per_test)
    workers = workers or settings.tests.workers
    parallel = ["-n", str(workers)] if workers > 0 and module_available(interpreter, "xdist", child_env) else []
    command = [
        *prefix,
        "-p",
        PLUGIN_NAME,
        "-p",
        "no:cacheprovider",
        f"--junitxml={out / JUNIT_FILE}",
        "--continue-on-collection-errors",
        "-q",
        "-rfEs",
        *parallel,
        *(coverage_args(out, repo) if _records_coverage(settings, extra_args) else []),
        *(extra_args or []),
        *targets,
    ]
    sink = os.fdopen(private_file(out / OUTPUT_FILE), "wb")
    started_at = datetime.now(UTC)
    try:
        process = subprocess.Popen(
            command, cwd=repo, env=child_env, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=die_with_parent(),
        )  # fmt: skip
    except OSError as exc:
        sink.close()
        raise TestRunError(f"cannot start pytest ({command[0]}): {exc}") from None
    track_group(process, _kill_group)  # an interruption of fixloop stops it (``cleanup.stop_everything``)
    options = PytestOptions(env=env, timeout=timeout, workers=workers, extra_args=extra_args)
    started = StartedTests(
        repo=repo, out=out, targets=list(targets), command=command, interpreter=interpreter, per_test=per_test,
        started_at=started_at, process=process, output_sink=sink, timer=None, settings=settings, options=options,
        run_deadline=run_deadline, round=round_number,
    )  # fmt: skip
    if run_deadline is not None:
        # a timer instead of wait(timeout=...): that one polls with sleeps and adds up to 50 ms
        started.timer = threading.Timer(max(0.0, run_deadline - time.monotonic()), _on_limit, args=(started,))
        started.timer.daemon = True
        started.timer.start()
    return started


def private_folder(folder: Path) -> None:
    """Make ``folder`` (created if needed) readable by its owner only: pytest writes raw output into it (console,
    JUnit XML, fixloop's report: whatever the tests print, secrets included) until the run ends and the files
    are redacted (``at_rest.seal_test_run``); meanwhile no other user can list or read them."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)


def private_file(path: Path) -> int:
    """A descriptor on ``path``, truncated, mode 0600 (also when it existed with another mode)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return fd


def start_next_round(previous: StartedTests, targets: list[str]) -> StartedTests:
    """Start pytest again, as ``previous`` was started, for ``targets`` (the tests it had not reached).

    Its files go to ``round-N/`` inside the first round's folder; the whole-run deadline stays the same.
    """
    first_out = previous.out if previous.round == 1 else previous.out.parent
    number = previous.round + 1
    opts = previous.options
    return start_pytest(
        previous.repo, targets, previous.settings, env=opts.get("env"), timeout=opts.get("timeout"),
        workers=opts.get("workers", 0), extra_args=opts.get("extra_args"), out_dir=first_out / f"round-{number}",
        run_deadline=previous.run_deadline, round_number=number,
    )  # fmt: skip


def time_left(started: StartedTests) -> float | None:
    """Seconds left of the whole run's limit (None: no limit)."""
    return None if started.run_deadline is None else started.run_deadline - time.monotonic()


def _on_limit(started: StartedTests) -> None:
    started.expired.set()
    _kill_group(started.process)


def _child_env(settings: Settings, env: dict[str, str] | None, report: Path, per_test: float) -> dict[str, str]:
    child = dict(os.environ)
    child.update(settings.target.env)
    child.update(env or {})
    child["PYTHONPATH"] = os.pathsep.join(p for p in [str(PLUGIN_DIR), child.get("PYTHONPATH", "")] if p)
    child["FIXLOOP_REPORT_FILE"] = str(report)
    child["FIXLOOP_HANG_GRACE"] = f"{settings.tests.hang_grace:g}"
    if per_test > 0:
        child["FIXLOOP_TEST_TIMEOUT"] = f"{per_test:g}"
        child["PYTEST_TIMEOUT"] = f"{per_test:g}"  # honoured by pytest-timeout when the target has it
    child.pop("PYTEST_ADDOPTS", None)
    child.pop("PYTEST_XDIST_WORKER", None)
    child.setdefault("PYTHONUNBUFFERED", "1")
    return child


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
