"""The one place that starts, resumes, approves, rejects and reads runs.

The CLI and the server both call these functions; neither drives the graph by
itself. A run is a LangGraph thread: its state is checkpointed after every step
(``durability="sync"``) and indexed by thread id (``checkpoints.py``), so any
process can pick it up again. The clients a run needs are rebuilt from the
indexed request in every process (``_context``); they are never checkpointed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command, StateSnapshot

from fixloop.agents.reporter import attach_cost, redact_tree, run_json, write_report
from fixloop.approval import check_approver, check_heads
from fixloop.autonomy import level_for
from fixloop.checkpoints import RunEntry, Store, find_run, home_index, open_store, record_run
from fixloop.config import Settings
from fixloop.context import RunContext
from fixloop.costs import cost_doc
from fixloop.errors import ApprovalError, FixloopError, UsageError
from fixloop.graphs.remediation import build_graph
from fixloop.intake import run_info
from fixloop.interfaces import Notifier
from fixloop.records import utc_now
from fixloop.redaction import Redactor
from fixloop.run_clients import run_settings
from fixloop.run_lock import is_driven, run_lock
from fixloop.state import Event
from fixloop.target import stop_target
from fixloop.target_check import TargetCheck, has_local_target, reestablish_target
from fixloop.vocabulary import FINISHED, AutonomyLevel, LLMMode

Source = Literal["cli", "slack", "github", "api", "page"]
TERMINAL = FINISHED
DECISION_WAIT = 3600.0  # seconds a decision waits for the run's driver to reach a stop (approval or end)
STOP_TARGET_AT_END = "stop_target_at_end"  # RunRequest.extra flag: stop the repo's target when the run ends
ALL_TIERS = "all_tiers"  # RunRequest.extra flag: every tier at once instead of P1 first (--all-tiers)
LOCAL_TARGET = "local_target"  # stored request key: fixloop manages the run's target (resume may restart it)


@dataclass
class RunRequest:
    """Intake: everything a run needs to start, whoever asked."""

    repo: Path
    focus: str
    requested_by: str = "cli"
    source: Source = "cli"
    llm: LLMMode = "none"
    config_file: Path | None = None
    out_dir: Path | None = None
    max_iterations: int | None = None
    # None: the settings' level for the focus ([autonomy]); callers that drive approvals ask for "merge"
    stop_at: AutonomyLevel | None = "merge"
    scenario: str | None = None  # for the scripted model: whose gold patch it replays
    checkpointer: str | None = None  # sqlite path or postgresql:// URL; default sqlite in FIXLOOP_HOME
    thread_id: str | None = None  # chosen by the caller (e.g. a Slack thread), else generated
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)  # added to llm.prices (the eval's)
    extra: dict[str, Any] = field(default_factory=dict)


def new_thread_id() -> str:
    return f"fl-{utc_now().strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def start_run(request: RunRequest, *, notifier: Notifier | None = None) -> str:
    """Start a run (in this process, until it ends or interrupts) and return its thread id."""
    repo = request.repo.expanduser().resolve()
    if not repo.is_dir():
        raise UsageError(f"repo path {request.repo} does not exist or is not a folder")
    thread_id = request.thread_id or new_thread_id()
    out_dir = (request.out_dir or Path.cwd() / "fixloop-out" / thread_id).expanduser().resolve()
    stored = _request_dict(request, repo=repo, out_dir=out_dir, thread_id=thread_id)
    settings = _settings(stored)
    stored["stop_at"] = request.stop_at or level_for(settings, request.focus)
    stored[LOCAL_TARGET] = has_local_target(repo)  # a resume starts it again; an external one is only checked
    with open_store(request.checkpointer) as store, run_lock(thread_id, store.spec, wait=0):
        if _started(store, thread_id):  # indexed but never checkpointed (its driver died at once): start it
            raise UsageError(f"a run with thread id {thread_id!r} already exists", hint="resume it or pick another id")
        entry = RunEntry(
            thread_id=thread_id,
            focus=request.focus,
            status="running",
            repo=str(repo),
            out_dir=str(out_dir),
            requested_by=request.requested_by,
            checkpointer=request.checkpointer,
            request=stored,
        )
        with _context(stored, settings, notifier) as ctx:
            preflight(ctx)  # before any work: each service the run needs answers, or one line each
            info = run_info(
                {
                    "focus": request.focus,
                    "requested_by": request.requested_by,
                    "source": request.source,
                    "all_tiers": bool(request.extra.get(ALL_TIERS)),
                },
                ctx,
            )
            _drive(store, entry, ctx, {"run": info})
    return thread_id


def _started(store: Store, thread_id: str) -> bool:
    """Whether the run is indexed and has a checkpoint to resume from."""
    return store.index.get(thread_id) is not None and store.saver.get_tuple(_config(thread_id)) is not None


def has_started(thread_id: str, checkpointer: str | None) -> bool:
    """Whether a (queued) start of ``thread_id`` has already run far enough to be resumed rather than started."""
    with open_store(checkpointer) as store:
        return _started(store, thread_id)


def _request_dict(request: RunRequest, *, repo: Path, out_dir: Path, thread_id: str) -> dict[str, Any]:
    data = asdict(request)
    data.update(
        repo=str(repo),
        out_dir=str(out_dir),
        thread_id=thread_id,
        config_file=str(request.config_file.expanduser().resolve()) if request.config_file else None,
    )
    data["extra"] = {k: v for k, v in request.extra.items() if isinstance(v, str | int | float | bool)}
    return data


def _settings(stored: dict[str, Any]) -> Settings:
    return run_settings(stored)


@contextmanager
def _context(stored: dict[str, Any], settings: Settings, notifier: Notifier | None) -> Iterator[RunContext]:
    """Build the run's clients (the edge of the system, ``run_clients.py``) and close them afterwards."""
    ctx = RunContext.from_request(stored, notifier=notifier)
    try:
        yield ctx
    finally:
        ctx.close()


def preflight(ctx: RunContext) -> list[str]:
    """``PreflightError`` listing every service the run needs that does not answer (``preflight.py``); else the
    names of the services checked."""
    from fixloop.preflight import (
        PreflightError,
        codehost_check,
        external_target,
        logs_check,
        model_check,
        run_checks,
        target_check,
    )

    settings = ctx.settings
    checks = [check for check in [model_check(ctx.model)] if check is not None]
    if ctx.codehost is not None:
        host = settings.codehost
        where = (
            f"{host.base_url or 'https://api.github.com'} ({host.repo})"
            if host.backend == "github"
            else "the git remote"
        )
        checks.append(codehost_check(ctx.codehost, where))
    if settings.logs.backend != "file" and ctx.logs is not None:
        checks.append(
            logs_check(ctx.logs, f"{settings.logs.backend} {settings.logs.endpoint or settings.logs.project}")
        )
    target = settings.target
    health = external_target(
        ctx.repo, target.http_url, target.health_path, configured="http_url" in target.model_fields_set
    )
    if health is not None:
        checks.append(target_check(health))
    problems = run_checks(checks)
    if problems:  # the faces print it (CLI: one line; chat: the run's thread)
        raise PreflightError("; ".join(problems), hint="nothing was run")
    return [check.name for check in checks]


def _world_event(ctx: RunContext, snapshot: StateSnapshot, why: str, check: TargetCheck) -> Event:
    """Before a resumed or decided run goes on: the start's preflight again (``PreflightError``: nothing is driven
    or recorded), as a worklog event with the target check that preceded it."""
    checked = preflight(ctx)
    services = ", ".join(checked) if checked else "no outside service to check"
    return Event(
        node="preflight",
        text=f"{why}: preflight passed ({services}); target: {check.message}",
        iteration=int((snapshot.values or {}).get("iteration", 0) or 0),
        detail=f"target check: {check.action} {check.url}".strip(),
    )


def _config(thread_id: str, settings: Settings | None = None) -> RunnableConfig:
    config: RunnableConfig = {"configurable": {"thread_id": thread_id}}
    if settings is not None:
        config["max_concurrency"] = settings.limits.max_parallel
    return config


def _drive(store: Store, entry: RunEntry, ctx: RunContext, graph_input: Any) -> dict[str, Any]:
    """Run the graph until it ends or interrupts, rewriting the report after every step.

    The caller holds the run's lock (``run_lock``): nobody else drives or decides meanwhile.
    """
    graph = build_graph(checkpointer=store.saver)
    config = _config(entry.thread_id, ctx.settings)
    entry.status = "running"
    record_run(entry, store)
    try:
        for values in graph.stream(graph_input, config, context=ctx, stream_mode="values", durability="sync"):
            if isinstance(values, dict) and "run" in values:
                write_report(values, ctx.out_dir, ctx.redactor, cost=_cost(ctx, values))
    except Exception as exc:
        message = exc.one_line() if isinstance(exc, FixloopError) else f"{type(exc).__name__}: {exc}"
        state = graph.get_state(config).values
        entry.status = "error"
        entry.request["error"] = message
        record_run(entry, store)
        if state:
            write_report(state, ctx.out_dir, ctx.redactor, error=message, cost=_cost(ctx, state))
        ctx.notify(f"run {entry.thread_id} stopped with an error: {message}", kind="error")
        raise
    snapshot = graph.get_state(config)
    state = snapshot.values
    status = "awaiting_approval" if snapshot.interrupts else state.get("status", "running")
    entry.status = status
    entry.request.pop("error", None)
    record_run(entry, store)
    doc = write_report({**state, "status": status}, ctx.out_dir, ctx.redactor, cost=_cost(ctx, state))
    if status in TERMINAL and entry.request.get("extra", {}).get(STOP_TARGET_AT_END):
        stop_target(ctx.repo)  # a demo's target lives as long as its run
    kind = "approval" if status == "awaiting_approval" else "done"
    ctx.notify(f"run {entry.thread_id}: {status} — {state.get('outcome', '')}".rstrip(" —"), kind=kind)
    return doc


def _cost(ctx: RunContext, state: dict[str, Any]) -> dict[str, Any]:
    """Model calls, tokens and estimated price (``llm.prices``) of the whole run so far, and per category."""
    return cost_doc(ctx.out_dir, ctx.model, ctx.settings.llm.prices, state)


@contextmanager
def _open(thread_id: str, checkpointer: str | None) -> Iterator[tuple[RunEntry, Store]]:
    entry = find_run(thread_id, checkpointer)
    with open_store(checkpointer or entry.checkpointer) as store:
        yield store.index.get(thread_id) or entry, store


def resume_run(thread_id: str, *, checkpointer: str | None = None, notifier: Notifier | None = None) -> dict[str, Any]:
    """Continue an interrupted run from its last checkpoint; return its run.json."""
    with _open(thread_id, checkpointer) as (entry, store), run_lock(thread_id, store.spec, wait=0):
        entry = store.index.get(thread_id) or entry  # as the last driver left it
        settings = _settings(entry.request)
        graph = build_graph(checkpointer=store.saver)
        snapshot = graph.get_state(_config(thread_id, settings))
        if snapshot.interrupts:
            return _status_doc(entry, {**snapshot.values, "status": "awaiting_approval"})
        if not _unfinished(snapshot):
            return _status_doc(entry, snapshot.values)
        where = ", ".join(snapshot.next) or f"the end of {', '.join(t.name for t in snapshot.tasks)}"
        check = _reestablish(entry, settings)
        with _context(entry.request, settings, notifier) as ctx:
            event = _world_event(ctx, snapshot, f"resumed at {where}", check)
            ctx.notify(f"resuming run {thread_id} at {where}; target: {check.message}")
            # replays the saved writes, then goes on; the update only adds the event to the log
            return _drive(store, entry, ctx, Command(update={"events": [event]}))


def _reestablish(entry: RunEntry, settings: Settings) -> TargetCheck:
    """Before a resumed or approved run tests again: its target is checked and, when local, started again."""
    repo = Path(entry.request["repo"])
    local = entry.request.get(LOCAL_TARGET)
    if local is None:  # a run recorded before this key existed
        local = bool(entry.request.get("extra", {}).get(STOP_TARGET_AT_END)) or has_local_target(repo)
    check = reestablish_target(repo, settings, local=bool(local))
    entry.request.setdefault("target_checks", []).append(
        {"at": utc_now().isoformat(), "action": check.action, "url": check.url, "message": check.message}
    )
    return check


def _unfinished(snapshot: StateSnapshot) -> bool:
    """Whether the graph has a step left to run or to close.

    ``next`` lists only the tasks still to run: a process killed after a step's writes were saved but
    before the next checkpoint leaves ``next`` empty while ``tasks`` still holds the finished tasks.
    Invoking with ``None`` applies those pending writes and continues; a finished graph has no tasks.
    """
    return bool(snapshot.next or snapshot.tasks)


def _decide(
    thread_id: str,
    *,
    decision: Literal["approve", "reject"],
    by: str,
    reason: str,
    source: Source,
    checkpointer: str | None,
    notifier: Notifier | None,
    heads: Sequence[str] | None = None,
    at: str | None = None,
) -> dict[str, Any]:
    with _open(thread_id, checkpointer) as (entry, store), run_lock(thread_id, store.spec, wait=DECISION_WAIT):
        # under the lock: decisions on one run are applied one after the other, each on the state the
        # previous one left
        entry = store.index.get(thread_id) or entry
        settings = _settings(entry.request)
        graph = build_graph(checkpointer=store.saver)
        config = _config(thread_id, settings)
        snapshot = graph.get_state(config)
        if not snapshot.interrupts and _unfinished(snapshot):
            # nobody drives it (we hold the lock): its driver died mid-step. Finish that step first, so a
            # run is never left stuck refusing every decision until someone resumes it from a shell.
            target = _reestablish(entry, settings)
            with _context(entry.request, settings, notifier) as ctx:
                event = _world_event(ctx, snapshot, f"continued before the {decision}", target)
                ctx.notify(
                    f"run {thread_id}: its last driver stopped mid-step; continuing it before the {decision};"
                    f" target: {target.message}"
                )
                _drive(store, entry, ctx, Command(update={"events": [event]}))
            snapshot = graph.get_state(config)
        if not snapshot.interrupts:
            status = snapshot.values.get("status", entry.status) if snapshot.values else entry.status
            raise ApprovalError(f"run {thread_id} is not waiting for approval (status {status})")
        refusal: ApprovalError | None = None
        try:
            if heads is not None and decision == "approve":
                check_heads(_waiting_heads(snapshot), heads)  # void once a PR's head moved: recorded as refused
            check_approver(settings.approval, requested_by=entry.requested_by, by=by)
        except ApprovalError as exc:
            refusal = exc
        answer = {
            "decision": "refused" if refusal else decision,
            "by": by,
            "source": source,
            "reason": refusal.one_line() if refusal else reason,
            "at": at or utc_now().isoformat(),  # a queued decision carries its own: a retried job finds it
        }
        check = _reestablish(entry, settings) if refusal is None else None
        with _context(entry.request, settings, notifier) as ctx:
            update: dict[str, Any] = {}
            if check is not None:  # a decision that goes on (merge or re-fix) needs the services a start needs
                update["events"] = [_world_event(ctx, snapshot, f"{decision} by {by}", check)]
                ctx.notify(f"{decision} of run {thread_id}; target: {check.message}")
            doc = _drive(store, entry, ctx, Command(resume=answer, update=update or None))
        if refusal is not None:
            raise refusal
        return doc


def _waiting_heads(snapshot: StateSnapshot) -> dict[int, str]:
    """PR number -> head commit of the PRs the paused approval asks about."""
    waiting = {int(n) for n in (snapshot.interrupts[0].value or {}).get("prs", [])}
    return {pr.number: pr.head_sha for pr in snapshot.values.get("prs", []) if pr.number in waiting}


def approve_run(
    thread_id: str,
    *,
    by: str,
    source: Source = "cli",
    checkpointer: str | None = None,
    notifier: Notifier | None = None,
    heads: Sequence[str] | None = None,
    at: str | None = None,
) -> dict[str, Any]:
    """Record an approval (checked against the approval rules) and resume; return run.json.

    With ``heads`` (commit shas or prefixes, as a chat approval names them) the approval holds only
    while they are the head commits of every PR waiting; otherwise it is recorded as refused and
    ApprovalError raised.
    """
    return _decide(
        thread_id,
        decision="approve",
        by=by,
        reason="",
        source=source,
        checkpointer=checkpointer,
        notifier=notifier,
        heads=heads,
        at=at,
    )


def reject_run(
    thread_id: str,
    *,
    by: str,
    reason: str,
    source: Source = "cli",
    checkpointer: str | None = None,
    notifier: Notifier | None = None,
    at: str | None = None,
) -> dict[str, Any]:
    """Record a rejection, send the reason to the fixer, resume; return run.json."""
    if not reason.strip():
        raise UsageError("a rejection needs a reason", hint="pass --reason TEXT: it goes back to the fixer")
    return _decide(
        thread_id,
        decision="reject",
        by=by,
        reason=reason,
        source=source,
        checkpointer=checkpointer,
        notifier=notifier,
        at=at,
    )


def decision_recorded(thread_id: str, *, by: str, at: str, checkpointer: str | None = None) -> bool:
    """Whether the run already holds the decision (or refusal) ``by`` took at ``at`` (a queued decision's
    own time): a decision job retried after its worker died must not be applied a second time."""
    from datetime import datetime

    when = datetime.fromisoformat(at)
    with _open(thread_id, checkpointer) as (_, store):
        snapshot = build_graph(checkpointer=store.saver).get_state(_config(thread_id))
        approvals = snapshot.values.get("approvals", []) if snapshot.values else []
        return any(a.by == by and a.at == when for a in approvals)


def _status_doc(entry: RunEntry, state: dict[str, Any]) -> dict[str, Any]:
    if not state:
        return {"thread_id": entry.thread_id, "focus": entry.focus, "status": entry.status, "iterations": []}
    redactor = Redactor(env=os.environ)
    error = entry.request.get("error") if entry.status == "error" else None
    doc = dict(redact_tree(run_json(state, error=error), redactor))
    try:
        prices = _settings(entry.request).llm.prices
    except FixloopError:  # the repo's settings changed since: the status still answers, without prices
        prices = {}
    attach_cost(doc, cost_doc(Path(entry.out_dir), None, prices, state))
    return doc


def run_status(thread_id: str, *, checkpointer: str | None = None) -> dict[str, Any]:
    """The run's current run.json (raise RunNotFoundError for an unknown thread)."""
    with _open(thread_id, checkpointer) as (entry, store):
        snapshot = build_graph(checkpointer=store.saver).get_state(_config(thread_id))
        values = dict(snapshot.values) if snapshot.values else {}
        if values and snapshot.interrupts:
            values["status"] = "awaiting_approval"
        elif values and _unfinished(snapshot) and values.get("status") in TERMINAL:
            values["status"] = "running"  # a step's writes are saved but the graph has not closed the step
        doc = _status_doc(entry, values)
        doc["out_dir"] = entry.out_dir
        if doc.get("status") == "running" and not is_driven(thread_id, store.spec):
            doc["interrupted"] = True  # no live process drives it (killed): `fixloop resume` finishes it
        return doc


def list_runs(*, checkpointer: str | None = None) -> list[dict[str, Any]]:
    """One summary per known run: thread_id, focus, status, updated."""
    if checkpointer is not None:
        with open_store(checkpointer) as store:
            return [e.summary() for e in store.index.all()]
    with home_index() as index:
        return [e.summary() for e in index.all()]


def queued_request(request: RunRequest) -> dict[str, Any]:
    """``request`` as the JSON of a queued start: the repo, out dir and thread id are fixed here, by the
    enqueuer (a worker elsewhere must not pick them from its own folder); no checkpointer URL."""
    repo = request.repo.expanduser().resolve()
    if not repo.is_dir():
        raise UsageError(f"repo path {request.repo} does not exist or is not a folder")
    thread_id = request.thread_id or new_thread_id()
    out_dir = (request.out_dir or Path.cwd() / "fixloop-out" / thread_id).expanduser().resolve()
    data = _request_dict(request, repo=repo, out_dir=out_dir, thread_id=thread_id)
    data.pop("checkpointer", None)
    data["prices"] = {k: list(v) for k, v in request.prices.items()}
    return data
