"""The ``fixloop`` command line.

Each command parses its flags, validates input, calls one function of the
package and prints the result. Errors a user can cause are ``FixloopError``s
and print as one line with a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from fixloop.errors import FixloopError, NotReadyError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    name="fixloop",
    help="Select, run and validate e2e tests, triage failures, find root causes, fix, audit, "
    "approve, deploy and re-test, as a durable LangGraph loop.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
probe_app = typer.Typer(help="Check a running target directly (WebSocket or HTTP).", no_args_is_help=True)
target_app = typer.Typer(help="Start, stop and inspect the example target.", no_args_is_help=True)
app.add_typer(probe_app, name="probe")
app.add_typer(target_app, name="target")


class LLMMode(StrEnum):
    none = "none"
    scripted = "scripted"
    openai = "openai"


class RunLLMMode(StrEnum):
    none = "none"
    scripted = "scripted"  # the labelled test double, replaying --scenario's gold patch; never a default
    openai = "openai"


class StopAt(StrEnum):
    diagnose = "diagnose"
    patch = "patch"
    pr = "pr"
    merge = "merge"


class EvalStage(StrEnum):
    triage = "triage"
    fix = "fix"
    all = "all"


class EvalSuite(StrEnum):
    scenarios = "scenarios"
    real = "real"


def _console() -> Console:
    from rich.console import Console  # loaded when there is something to show, not at start-up

    return Console(highlight=False, soft_wrap=True)


def not_ready(command: str, issue: int) -> NoReturn:
    raise NotReadyError(f"`fixloop {command}` is not available yet: it lands with issue #{issue}")


def existing_repo(path: Path) -> Path:
    """A repo path that exists and is a folder, or a ``UsageError`` saying so."""
    resolved = path.expanduser().resolve()
    if not resolved.exists():
        raise UsageError(f"repo path {path} does not exist", hint="pass --repo PATH of a checked-out repository")
    if not resolved.is_dir():
        raise UsageError(f"repo path {path} is not a folder")
    return resolved


RepoOpt = Annotated[Path, typer.Option("--repo", help="Path of the target repository.")]
FocusOpt = Annotated[str, typer.Option("--focus", help='Focus area, e.g. "websockets".')]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a report.")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Settings file (default: the repo's).")]
OutOpt = Annotated[Path | None, typer.Option("--out", help="Folder for worklog.md and run.json.")]
ByOpt = Annotated[str, typer.Option("--by", help="Who decides (an approver name).")]
CheckpointerOpt = Annotated[
    str | None,
    typer.Option("--checkpointer", help="sqlite path or postgresql:// URL (default: sqlite in FIXLOOP_HOME)."),
]

InProcessOpt = Annotated[
    bool,
    typer.Option(
        "--in-process",
        help="With a postgresql:// checkpointer: drive the run in this process instead of queueing a job "
        "for `fixloop worker`.",
    ),
]


def _queue(checkpointer: str | None, in_process: bool, thread: str | None = None) -> Any:
    """The run queue when runs go through it (a PostgreSQL checkpointer, not --in-process), else None."""
    from fixloop.queue.app import uses_queue

    if in_process:
        return None
    if thread is not None:  # an unknown run is refused here, not queued
        from fixloop.checkpoints import find_run

        checkpointer = checkpointer or find_run(thread).checkpointer
        if uses_queue(checkpointer):
            find_run(thread, checkpointer)
    if not uses_queue(checkpointer):
        return None
    from fixloop.queue.client import RunQueue

    assert checkpointer is not None
    return RunQueue(checkpointer)


def _queued(job: Any, what: str) -> None:
    typer.echo(f"queued: {what} of run {job.thread_id} as job {job.job_id} for a `fixloop worker`")
    typer.echo(f"  {job.follow_hint()}")


# ---------------------------------------------------------------- the loop


@app.command()
def run(
    repo: RepoOpt,
    focus: FocusOpt,
    config: ConfigOpt = None,
    llm: Annotated[
        RunLLMMode,
        typer.Option(help="Model: none (diagnose only), openai, or scripted (test double; needs --scenario)."),
    ] = RunLLMMode.none,
    scenario: Annotated[
        str | None, typer.Option(help="With --llm scripted: the scenario whose gold patch the test double replays.")
    ] = None,
    max_iterations: Annotated[int | None, typer.Option(min=1)] = None,
    out: OutOpt = None,
    requested_by: Annotated[str, typer.Option(help="Who asked for this run.")] = "cli",
    stop_at: Annotated[
        StopAt | None, typer.Option(help="How far fixloop may go on its own (default: the autonomy settings, else pr).")
    ] = None,
    checkpointer: CheckpointerOpt = None,
    all_tiers: Annotated[
        bool, typer.Option("--all-tiers", help="Run every tier at once (default: P1 first, wider as tiers hold).")
    ] = False,
    in_process: InProcessOpt = False,
) -> None:
    """Run the whole remediation loop on a repository (with PostgreSQL: queue it for a worker)."""
    from fixloop.notify import TerminalNotifier
    from fixloop.runs import ALL_TIERS, RunRequest, queued_request, run_status, start_run

    request = RunRequest(
        repo=existing_repo(repo),
        focus=focus,
        requested_by=requested_by,
        llm=llm.value,
        scenario=scenario,
        config_file=config,
        out_dir=out,
        max_iterations=max_iterations,
        stop_at=stop_at.value if stop_at else None,
        checkpointer=checkpointer,
        extra={ALL_TIERS: True} if all_tiers else {},
    )
    queue = _queue(checkpointer, in_process)
    if queue is not None:
        with queue:
            _queued(queue.start(queued_request(request)), "start")
        return
    thread_id = start_run(request, notifier=TerminalNotifier())
    _finish_run(run_status(thread_id, checkpointer=checkpointer))


@app.command()
def demo(
    scenario: Annotated[str | None, typer.Option(help="Scenario name under evals/scenarios.")] = None,
    llm: Annotated[LLMMode, typer.Option(help="Model: none, scripted (test double) or openai.")] = LLMMode.none,
    out: OutOpt = None,
    requested_by: Annotated[str, typer.Option(help="Who asked for this run.")] = "demo",
    checkpointer: CheckpointerOpt = None,
    stop_at: Annotated[StopAt, typer.Option(help="How far the demo may go on its own.")] = StopAt.merge,
    in_process: InProcessOpt = False,
) -> None:
    """Copy the bundled example, break it with a scenario's fault, start it and run the loop on it."""
    from fixloop.demo import prepare_demo, run_demo
    from fixloop.notify import TerminalNotifier

    queue = _queue(checkpointer, in_process)
    if queue is not None:
        from fixloop.runs import queued_request

        _, request = prepare_demo(
            scenario=scenario, llm=llm.value, out=out, requested_by=requested_by, checkpointer=checkpointer,
            notifier=TerminalNotifier(), stop_at=stop_at.value,
        )  # fmt: skip
        with queue:
            _queued(queue.start(queued_request(request)), "start")
        typer.echo(f"  the demo's target runs until the run ends (workspace {request.repo})")
        return

    result = run_demo(
        scenario=scenario,
        llm=llm.value,
        out=out,
        requested_by=requested_by,
        checkpointer=checkpointer,
        notifier=TerminalNotifier(),
        stop_at=stop_at.value,
    )
    _print_summary(result.run)
    if result.target_running:
        typer.echo(
            f"  the target keeps running for the approval (stop it: fixloop target down --repo {result.workspace})"
        )
    if not result.as_expected:
        from fixloop.exit_codes import ERROR, for_status

        typer.echo(f"  the scenario did not end as expected ({result.run.get('status')})")
        raise typer.Exit(for_status(result.run) or ERROR)


@app.command()
def resume(thread: str, checkpointer: CheckpointerOpt = None, in_process: InProcessOpt = False) -> None:
    """Resume an interrupted run from its checkpoint."""
    from fixloop.notify import TerminalNotifier
    from fixloop.runs import resume_run

    queue = _queue(checkpointer, in_process, thread)
    if queue is not None:
        with queue:
            _queued(queue.resume(thread, queueing_lock=f"resume:{thread}"), "resume")
        return

    _finish_run(resume_run(thread, checkpointer=checkpointer, notifier=TerminalNotifier()))


@app.command()
def approve(
    thread: str,
    by: ByOpt,
    head: Annotated[
        list[str] | None,
        typer.Option(
            "--head",
            help="PR head commit (7-40 hex) this approval is for; repeat for several PRs. It is refused, and "
            "recorded as refused, when a waiting PR is at another commit.",
        ),
    ] = None,
    checkpointer: CheckpointerOpt = None,
    in_process: InProcessOpt = False,
) -> None:
    """Approve the PRs a run is waiting on; the run then merges, deploys and re-tests."""
    from fixloop.notify import TerminalNotifier
    from fixloop.runs import approve_run
    from fixloop.server.commands import parse_heads

    heads = list(parse_heads(" ".join(head))) if head else None
    queue = _queue(checkpointer, in_process, thread)
    if queue is not None:
        with queue:
            _queued(queue.decide(thread, decision="approve", by=by, source="cli", heads=heads), f"approval by {by}")
        return

    _finish_run(approve_run(thread, by=by, checkpointer=checkpointer, notifier=TerminalNotifier(), heads=heads))


@app.command()
def reject(
    thread: str,
    by: ByOpt,
    reason: Annotated[str, typer.Option(help="Why; goes back to the fixer as feedback.")],
    checkpointer: CheckpointerOpt = None,
    in_process: InProcessOpt = False,
) -> None:
    """Reject the PRs a run is waiting on; the reason goes back to the fixer."""
    from fixloop.notify import TerminalNotifier
    from fixloop.runs import reject_run

    if not reason.strip():
        raise UsageError("a rejection needs a reason", hint="pass --reason TEXT: it goes back to the fixer")
    queue = _queue(checkpointer, in_process, thread)
    if queue is not None:
        with queue:
            _queued(queue.decide(thread, decision="reject", by=by, source="cli", reason=reason), f"rejection by {by}")
        return

    doc = reject_run(thread, by=by, reason=reason, checkpointer=checkpointer, notifier=TerminalNotifier())
    _finish_run(doc)


@app.command()
def status(
    thread: Annotated[str | None, typer.Argument()] = None,
    json_out: JsonOpt = False,
    checkpointer: CheckpointerOpt = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only runs requested by $USER (or --by).")] = False,
    by: Annotated[str | None, typer.Option("--by", help="Only runs requested by this name.")] = None,
    active: Annotated[bool, typer.Option("--active", help="Only runs running or awaiting approval.")] = False,
) -> None:
    """Show one run (its run.json with --json) or list the runs."""
    import json

    from fixloop.runs import list_runs, run_status

    if thread is None:
        from fixloop.run_listing import filter_runs, render_table

        if mine and by is None:
            by = os.environ.get("USER") or os.environ.get("LOGNAME")
            if not by:
                raise UsageError("--mine needs $USER", hint="or pass --by NAME")
        runs = filter_runs(list_runs(checkpointer=checkpointer), by=by, active=active)
        if json_out:
            typer.echo(json.dumps(runs, indent=2))
        elif runs:
            for line in render_table(runs):
                typer.echo(line)
        elif by is not None or active:
            wanted = [f"requested by {by}"] if by is not None else []
            typer.echo("no run " + " and ".join([*wanted, *(["active"] if active else [])]))
        else:
            typer.echo("no runs yet (start one with `fixloop demo` or `fixloop run`)")
        return
    doc = run_status(thread, checkpointer=checkpointer)
    if json_out:
        typer.echo(json.dumps(doc, indent=2))
    else:
        _print_summary(doc)


def _print_summary(doc: dict[str, Any]) -> None:
    from fixloop.summary import public_url_for, summary_lines

    for line in summary_lines(doc, public_url=public_url_for(doc)):
        typer.echo(line)


def _finish_run(doc: dict[str, Any]) -> None:
    """The run's summary, and its status as the exit code (``exit_codes.py``; 0 only when green)."""
    from fixloop.exit_codes import for_status

    _print_summary(doc)
    code = for_status(doc)
    if code:
        raise typer.Exit(code)


@app.command("stop-at")
def stop_at_cmd(
    thread: str, level: StopAt, checkpointer: CheckpointerOpt = None, in_process: InProcessOpt = False
) -> None:
    """Lower how far a running remediation may go on its own."""
    from fixloop.autonomy import lower_stop_at

    queue = _queue(checkpointer, in_process, thread)
    if queue is not None:
        with queue:
            _queued(queue.stop(thread, level=level.value, by=os.environ.get("USER")), f"stop-at {level.value}")
        return

    typer.echo(lower_stop_at(thread, level.value, checkpointer=checkpointer))


@app.command()
def verify(out: Annotated[Path, typer.Argument(help="A run directory (with run.json).")]) -> None:
    """Re-check a run directory: artifacts unmodified, counts consistent, citations resolve."""
    from fixloop.verdict import write_verdict
    from fixloop.verify import VerifyError, verify_run_dir

    report = verify_run_dir(out)
    write_verdict(report.out_dir, ok=report.ok, checked=report.checked, problems=report.problems)
    for line in report.checked:
        typer.echo(f"  ok  {line}")
    for line in report.problems:
        typer.echo(f"  BAD {line}")
    if not report.ok:
        count = len(report.problems)
        raise VerifyError(f"{report.out_dir}: {count} problem{'s' if count > 1 else ''}: {report.problems[0]}")
    typer.echo(f"verified: {report.out_dir} matches its record")


# ---------------------------------------------------------------- stages


@app.command()
def select(repo: RepoOpt, focus: FocusOpt, json_out: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Select and rank the tests for a focus, in priority tiers."""
    from fixloop.config import load_settings
    from fixloop.tools.select_tests import select_tests
    from fixloop.tools.views import show_selection

    root = existing_repo(repo)
    selection = select_tests(root, focus, load_settings(root, config))
    if json_out:
        typer.echo(selection.model_dump_json(indent=2))
    else:
        show_selection(selection, _console())


@app.command()
def test(
    repo: RepoOpt,
    ids: Annotated[list[str] | None, typer.Argument(help="Test ids or files (instead of --focus).")] = None,
    focus: Annotated[str | None, typer.Option("--focus")] = None,
    json_out: JsonOpt = False,
    timeout: Annotated[float | None, typer.Option(help="Per-test timeout, seconds.")] = None,
    workers: Annotated[int, typer.Option("-n", help="Parallel workers (pytest-xdist).")] = 0,
    out: OutOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Run tests for real in the target's own environment and check that they are real."""
    from datetime import UTC, datetime

    from fixloop.config import load_settings
    from fixloop.paths import fixloop_home
    from fixloop.target import available_test_env
    from fixloop.tools.pytest_process import start_pytest

    root = existing_repo(repo)
    if not ids and not focus:
        raise UsageError("nothing to run", hint="pass test ids/files or --focus TEXT")
    settings = load_settings(root, config)
    selection = None
    if focus:
        from fixloop.tools.select_tests import select_tests  # only with --focus: ids alone need no scan

        selection = select_tests(root, focus, settings)
    targets = list(ids or []) or (selection.test_targets() if selection else [])
    if not targets:
        message = selection.message if selection else "no tests given"
        typer.echo(json.dumps({"run": None, "message": message}) if json_out else message)
        return
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    out_dir = (out or fixloop_home() / "test-runs" / stamp).expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    env = available_test_env(root, settings.target)
    started = start_pytest(root, targets, settings, env=env, out_dir=out_dir, timeout=timeout, workers=workers)
    # pytest starts up in its own process now; what judges and shows its results loads meanwhile
    from fixloop.notify import TerminalNotifier
    from fixloop.progress import stage
    from fixloop.tools.test_phase import RESULTS_FILE, finish_test_phase, phase_ok
    from fixloop.tools.views import show_test_phase

    display = TerminalNotifier()  # stderr: the test counter live on a terminal, a line every 10 s otherwise
    with stage(lambda event: display.progress("test", event), "tests", f"{len(targets)} targets"):
        report = finish_test_phase(started, settings, selection=selection, env=env)
    display.close()
    if json_out:
        typer.echo(report.model_dump_json(indent=2))
    else:
        show_test_phase(report, _console(), results_file=str(out_dir / RESULTS_FILE))
    if not phase_ok(report):
        raise typer.Exit(1)


@app.command()
def triage(
    results: Annotated[Path, typer.Option("--results", help="A results JSON written by `fixloop test --json`.")],
    repo: Annotated[Path | None, typer.Option("--repo")] = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
    focus: Annotated[str, typer.Option("--focus", help="Focus area, ranks matching paths higher.")] = "",
    reruns: Annotated[
        int | None, typer.Option(min=0, help="Re-run failing tests N times to find flaky ones (default: none).")
    ] = None,
    budget: Annotated[int, typer.Option(min=200, help="Token budget of each evidence bundle.")] = 4000,
) -> None:
    """Group failures into categories and gather evidence for each."""
    if not results.is_file():
        raise UsageError(f"results file {results} does not exist", hint="write one with `fixloop test --json`")
    from fixloop.agents.triage_report import load_results, redactor_for, render_text, triage_run
    from fixloop.config import load_settings
    from fixloop.integrations.logs import build_log_source
    from fixloop.records import TestRun

    run_record, findings = load_results(results)
    where = existing_repo(repo) if repo is not None else Path(run_record.cwd)
    if not where.is_dir():
        raise UsageError(f"the run's folder {run_record.cwd} does not exist", hint="pass --repo PATH")
    settings = load_settings(where, config)
    from fixloop.target import available_test_env

    rerun_env = available_test_env(where, settings.target)
    rerun_fn = None
    if reruns:
        from fixloop.tools.run_tests import run_tests

        def rerun_fn(ids: list[str]) -> TestRun:
            return run_tests(where, ids, settings, env=rerun_env)

    report = triage_run(
        run_record,
        findings,
        repo=where,
        settings=settings,
        logs=build_log_source(settings, where),
        focus=focus,
        redactor=redactor_for(settings),
        rerun=rerun_fn,
        reruns=reruns or 0,
        budget_tokens=budget,
        test_env=rerun_env,
    )
    redactor = redactor_for(settings)
    text = report.model_dump_json(indent=2) if json_out else render_text(report)
    typer.echo(redactor.redact(text), nl=not text.endswith("\n"))


ProbeRepoOpt = Annotated[
    Path | None,
    typer.Option(
        "--repo", help="Probe this repo's target: its recorded URL and secret (fixloop target up), else [target]."
    ),
]


@dataclass
class _ProbeTarget:
    http_url: str
    ws_url: str
    secret: str  # the token signing secret (never printed)
    revision: str | None  # the recorded target's revision, when fixloop started it
    service_name: str


def _probe_target(repo: Path | None) -> _ProbeTarget:
    """The target to probe: ``repo``'s running recorded target (its state file holds the secret), else its
    ``[target]`` settings with the secret from the environment; with no ``--repo``, the default settings."""
    from fixloop.config import load_settings
    from fixloop.target import target_status, test_env

    root = existing_repo(repo) if repo is not None else None
    target = load_settings(root).target
    if root is not None:
        info = target_status(root)
        if info is not None and info.running:
            secret = test_env(root).get(target.token_secret_env, "")
            return _ProbeTarget(info.http_url, info.ws_url, secret, info.revision, target.service_name)
    secret = os.environ.get(target.token_secret_env, "")
    return _ProbeTarget(target.http_url, target.ws_url, secret, None, target.service_name)


@probe_app.command("ws")
def probe_ws(
    url: Annotated[str | None, typer.Argument(help="WebSocket URL (default: the --repo target's).")] = None,
    repo: ProbeRepoOpt = None,
    token_env: Annotated[str | None, typer.Option(help="Env var holding the JWT secret or token.")] = None,
    clients: Annotated[int, typer.Option(help="Concurrent clients.")] = 3,
    json_out: JsonOpt = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the handshake and the events.")] = 10.0,
    issuer: Annotated[str | None, typer.Option(help="JWT 'iss' claim (default: target.service_name).")] = None,
) -> None:
    """Handshake, auth, the five agent events in order, concurrency, close codes, latency."""
    from fixloop.tools.probe_ws import probe_ws as run_probe
    from fixloop.tools.probe_ws import token_from_env_value
    from fixloop.tools.views import show_probe

    if url is None and repo is None:
        raise UsageError("nothing to probe", hint="pass a URL or --repo PATH of a target")
    target = _probe_target(repo)
    value = os.environ.get(token_env, "") if token_env else target.secret
    issuer = issuer or target.service_name
    token = token_from_env_value(value, issuer=issuer) if value else None
    report = run_probe(url or target.ws_url, token=token, clients=clients, timeout=timeout, issuer=issuer)
    if json_out:
        typer.echo(report.model_dump_json(indent=2))
    else:
        show_probe(report, _console())
    if not report.ok:
        raise typer.Exit(1)


@probe_app.command("http")
def probe_http(
    url: Annotated[str | None, typer.Argument(help="Base URL (default: the --repo target's).")] = None,
    repo: ProbeRepoOpt = None,
    json_out: JsonOpt = False,
    expect_revision: Annotated[
        str | None,
        typer.Option(help="Fail unless /health reports this revision (default with --repo: the recorded one)."),
    ] = None,
) -> None:
    """Health endpoint and reported revision."""
    from fixloop.tools.probe_http import probe_http as run_probe
    from fixloop.tools.views import show_probe

    if url is None and repo is None:
        raise UsageError("nothing to probe", hint="pass a URL or --repo PATH of a target")
    target = _probe_target(repo) if repo is not None else None
    if target is not None:
        expect_revision = expect_revision or (target.revision if url is None else None)
    report = run_probe(url or (target.http_url if target else ""), expect_revision=expect_revision)
    if json_out:
        typer.echo(report.model_dump_json(indent=2))
    else:
        show_probe(report, _console())
    if not report.ok:
        raise typer.Exit(1)


# ---------------------------------------------------------------- target, server, evals


def example_repo(repo: Path | None) -> Path:
    """``--repo`` when given, else the bundled ``examples/chatbackend`` of the source checkout."""
    if repo is not None:
        return existing_repo(repo)
    from fixloop.paths import project_root

    root = project_root()
    if root is None or not (root / "examples" / "chatbackend").is_dir():
        raise UsageError("no bundled example found", hint="pass --repo PATH of the target repository")
    return root / "examples" / "chatbackend"


@target_app.command("up")
def target_up(
    repo: Annotated[Path | None, typer.Option("--repo")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: a free one).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Start the example target as a real process (pidfile, port, log file)."""
    from fixloop.target import start_target

    info = start_target(example_repo(repo), port=port)
    if json_out:
        typer.echo(json.dumps(info.public(), indent=2))
        return
    typer.echo(f"target up: {info.http_url} (websocket {info.ws_url})")
    typer.echo(f"revision {info.revision}, pid {info.pid}, logs {info.log_file}")


@target_app.command("down")
def target_down(repo: Annotated[Path | None, typer.Option("--repo")] = None) -> None:
    """Stop the example target."""
    from fixloop.target import stop_target

    where = example_repo(repo)
    typer.echo(f"target stopped ({where})" if stop_target(where) else f"no target was running for {where}")


@target_app.command("status")
def target_status(repo: Annotated[Path | None, typer.Option("--repo")] = None, json_out: JsonOpt = False) -> None:
    """Report whether the example target runs, where, and which revision."""
    from fixloop import target

    where = example_repo(repo)
    info = target.target_status(where)
    if json_out:
        typer.echo(json.dumps(info.public() if info else {"running": False, "repo": str(where)}, indent=2))
        return
    if info is None:
        typer.echo(f"no target recorded for {where}")
    elif info.running:
        typer.echo(f"running: {info.http_url} (websocket {info.ws_url}), revision {info.revision}, pid {info.pid}")
        typer.echo(f"logs {info.log_file}, started {info.started_at}")
    elif info.error:
        typer.echo(f"not running: the last start failed: {info.error}")
    else:
        typer.echo(f"not running (pid {info.pid} is gone; last revision {info.revision}, logs {info.log_file})")


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8787,
    checkpointer: CheckpointerOpt = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Server settings file: approval maps (slack_users, github_users)."),
    ] = None,
    allow_repo: Annotated[
        list[str] | None,
        typer.Option("--allow-repo", help="NAME=PATH of a repo runs may target, used in place (repeatable)."),
    ] = None,
    default_repo: Annotated[str | None, typer.Option(help="Repo name used when a command names none.")] = None,
    default_focus: Annotated[str, typer.Option(help="Focus used when a labelled issue names none.")] = "websockets",
    llm: Annotated[LLMMode, typer.Option(help="Model used when a command names none.")] = LLMMode.none,
    slack_api_url: Annotated[str | None, typer.Option(help="Slack Web API base URL (default: Slack's).")] = None,
    github_api_url: Annotated[str | None, typer.Option(help="GitHub REST base URL (default: GitHub's).")] = None,
    public_url: Annotated[str, typer.Option(help="This server's public URL, for links in chat.")] = "",
    workers: Annotated[int, typer.Option(min=1, max=32, help="Remediations running at once.")] = 2,
    demo: Annotated[bool, typer.Option(help="Allow repo 'demo': a fresh copy of the bundled example per run.")] = True,
    in_process: InProcessOpt = False,
) -> None:
    """Serve Slack commands, GitHub webhooks, approvals and live run events (with PostgreSQL: runs are
    queued for `fixloop worker` processes)."""
    from fixloop.server.serve import serve_forever

    serve_forever(
        host=host,
        port=port,
        checkpointer=checkpointer,
        config_file=config,
        allow_repo=allow_repo or [],
        default_repo=default_repo,
        default_focus=default_focus,
        default_llm=llm.value,
        slack_api_url=slack_api_url,
        github_api_url=github_api_url,
        public_url=public_url,
        run_workers=workers,
        demo=demo,
        queue=not in_process,
    )


@app.command()
def worker(
    checkpointer: Annotated[
        str, typer.Option("--checkpointer", help="postgresql:// URL of the database holding checkpoints and queue.")
    ],
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Runs this process drives at once.")] = 1,
    heartbeat: Annotated[float, typer.Option(min=0.2, help="Seconds between this worker's heartbeats.")] = 10.0,
    stalled_after: Annotated[
        float, typer.Option(min=1.0, help="A worker without a heartbeat this long is dead: its jobs go to another.")
    ] = 30.0,
    name: Annotated[str, typer.Option(help="Worker name in logs (default host:pid).")] = "",
) -> None:
    """Take start / approve / reject / resume / stop jobs from the queue and drive the runs (any machine)."""
    from fixloop.queue.app import uses_queue
    from fixloop.queue.worker import WorkerOptions, run_worker

    if not uses_queue(checkpointer):
        raise UsageError("`fixloop worker` needs a postgresql:// checkpointer", hint="--checkpointer postgresql://…")
    if stalled_after <= heartbeat:
        raise UsageError("--stalled-after must be longer than --heartbeat")
    run_worker(
        WorkerOptions(
            checkpointer=checkpointer,
            concurrency=concurrency,
            heartbeat=heartbeat,
            stalled_after=stalled_after,
            name=name,
        )
    )


@app.command("eval")
def eval_cmd(
    stage: Annotated[EvalStage, typer.Option()] = EvalStage.all,
    llm: Annotated[LLMMode, typer.Option()] = LLMMode.none,
    scenario: Annotated[str | None, typer.Option()] = None,
    suite: Annotated[
        EvalSuite, typer.Option(help="scenarios: the bundled example's faults; real: evals/real/ projects.")
    ] = EvalSuite.scenarios,
    case: Annotated[
        str | None, typer.Option(help="--suite real: one case, or every case of one project (its package name).")
    ] = None,
    json_out: JsonOpt = False,
    reruns: Annotated[
        int | None, typer.Option(min=0, help="Re-runs of failing tests for flakiness (default: tests.flaky_reruns).")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Scenarios run in parallel (worker processes).")] = 2,
    work_dir: Annotated[
        Path | None, typer.Option("--work-dir", help="Keep every scenario's work folder and run here.")
    ] = None,
) -> None:
    """Run the eval scenarios (or, with --suite real, the real-project cases) and print the metrics table."""
    if suite == EvalSuite.real:
        _eval_real(stage, llm, case, json_out, workers, work_dir)
        return
    if case is not None:
        raise UsageError("--case belongs to --suite real", hint="use --scenario NAME for the scenarios")
    from fixloop.evaluation.results_table import render_report
    from fixloop.evaluation.runner import run_eval
    from fixloop.evaluation.triage_eval import render_markdown
    from fixloop.scenarios import list_scenarios, load_scenario

    chosen = [load_scenario(scenario)] if scenario else list_scenarios()
    if not chosen:
        raise UsageError("no scenario found under evals/scenarios", hint="run from a fixloop checkout")
    if stage == EvalStage.triage and llm != LLMMode.none:
        typer.echo(f"note: the triage stage uses no model; --llm {llm.value} changes nothing", err=True)

    def progress(line: str) -> None:
        typer.echo(line, err=True)

    report = run_eval(
        chosen,
        stage=stage.value,
        llm=llm.value,
        workers=workers,
        reruns=reruns,
        work_root=work_dir.expanduser().resolve() if work_dir else None,
        command="fixloop " + " ".join(sys.argv[1:]),
        progress=None if json_out else progress,
    )
    if stage == EvalStage.triage:  # the triage eval's own output, unchanged
        assert report.triage is not None
        report.triage.llm = llm.value
        text = report.triage.model_dump_json(indent=2) if json_out else render_markdown(report.triage)
    else:
        text = report.model_dump_json(indent=2) if json_out else render_report(report)
    typer.echo(text, nl=not text.endswith("\n"))
    if not report.ok:
        raise typer.Exit(1)


def _eval_real(
    stage: EvalStage, llm: LLMMode, case: str | None, json_out: bool, workers: int, work_dir: Path | None
) -> None:
    from fixloop.evaluation.real.cache import cache_root
    from fixloop.evaluation.real.fix_report import render_real_fix_markdown, run_real_fix_eval
    from fixloop.evaluation.real.recipes import load_projects, select_cases
    from fixloop.evaluation.real.report import render_real_markdown, run_real_eval

    if stage == EvalStage.triage and llm != LLMMode.none:
        typer.echo(f"note: the triage stage uses no model; --llm {llm.value} changes nothing", err=True)
    if stage != EvalStage.triage and llm == LLMMode.openai:
        from fixloop.evaluation.fix_eval import check_model_configured

        check_model_configured("openai")
    chosen = select_cases(load_projects(), case)
    command = "fixloop " + " ".join(sys.argv[1:])
    root = work_dir.expanduser().resolve() if work_dir else None

    def progress(line: str) -> None:
        typer.echo(line, err=True)

    texts: list[str] = []
    docs: dict[str, Any] = {}
    met = True
    if stage in (EvalStage.triage, EvalStage.all):
        result = run_real_eval(
            chosen, cache=cache_root(), workers=workers, work_root=root, command=command,
            progress=None if json_out else progress,
        )  # fmt: skip
        docs["triage"], met = result.model_dump(mode="json"), result.met
        texts.append(render_real_markdown(result))
    if stage in (EvalStage.fix, EvalStage.all):
        fixed = run_real_fix_eval(
            chosen, cache=cache_root(), llm=llm.value, workers=workers, work_root=root, command=command,
            progress=None if json_out else progress,
        )  # fmt: skip
        docs["fix"] = fixed.model_dump(mode="json")
        texts.append(render_real_fix_markdown(fixed))
    if json_out:  # one stage: its document, as before; all: {"triage": ..., "fix": ...}
        text = json.dumps(docs if stage == EvalStage.all else next(iter(docs.values())), indent=2)
    else:
        text = "\n".join(texts)
    typer.echo(text, nl=not text.endswith("\n"))
    if not met:
        raise typer.Exit(1)


# ---------------------------------------------------------------- entry point


def main() -> None:
    """Entry point: run the app, turning every FixloopError into one line and an exit code.

    SIGINT, SIGTERM and SIGHUP stop what this command started (pytest, targets) and exit 130/143/129.
    """
    from fixloop import cleanup

    cleanup.install_stop_handlers(report=lambda line: typer.echo(f"fixloop: {line}", err=True))
    try:
        app()  # standalone: click prints its own usage errors and exits
    except FixloopError as exc:
        typer.echo(f"fixloop: error: {exc.one_line()}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _stopped()
    except SystemExit:
        if cleanup.stop_signal() is not None:  # typer turned the interruption into exit 130
            _stopped()
        raise
    except Exception as exc:  # the last line of defence: one line, never a traceback
        if os.environ.get("FIXLOOP_DEBUG"):
            raise
        typer.echo(f"fixloop: internal error: {type(exc).__name__}: {exc} (set FIXLOOP_DEBUG=1 for details)", err=True)
        sys.exit(70)


def _stopped() -> NoReturn:
    """Stopped by a signal: stop what the unwinding may have started since, exit 128 + the signal number at once
    (a graph branch still running in a worker thread must not keep the process alive)."""
    from fixloop import cleanup
    from fixloop.exit_codes import STOPPED_SIGINT, for_stop_signal

    cleanup.stop_everything()
    signum = cleanup.stop_signal()
    typer.echo("fixloop: stopped" if signum is None else f"fixloop: stopped by {signal_name(signum)}", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(STOPPED_SIGINT if signum is None else for_stop_signal(signum))


def signal_name(signum: int) -> str:
    import signal

    return signal.Signals(signum).name
