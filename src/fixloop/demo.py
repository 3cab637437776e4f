"""``fixloop demo``: copy the bundled example, break it with a scenario's fault, start it, run the loop.

The work folder is ``OUT/workspace`` (a real git repository: "baseline", then
the fault as a commit). A fault that keeps the target from starting is not an
error of the demo: the run tests the dead target and diagnoses it.
The target is stopped when the run ends (green, gave up, diagnosed), in
whichever process ends it: while the run waits for approval it keeps running,
because the approval resumes the run, which merges, redeploys it and re-tests
against it. After a kill it keeps running too, for ``resume``; after an error
the demo stops it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, Unpack

from fixloop.errors import TargetError
from fixloop.interfaces import Notifier
from fixloop.runs import STOP_TARGET_AT_END, RunRequest, new_thread_id, run_status, start_run
from fixloop.scenarios import Scenario, load_scenario, prepare_workspace
from fixloop.target import start_target, stop_target
from fixloop.vocabulary import AutonomyLevel, LLMMode

DEFAULT_SCENARIO = "handshake-500"


@dataclass
class DemoResult:
    thread_id: str
    out_dir: Path
    workspace: Path
    run: dict[str, Any]
    target_running: bool
    as_expected: bool = False  # the scenario ended as it should (``expected_status``)


class DemoOptions(TypedDict, total=False):
    """``prepare_demo``'s options (their defaults are there)."""

    scenario: str | None
    llm: LLMMode
    out: Path | None
    requested_by: str
    checkpointer: str | None
    notifier: Notifier | None
    stop_at: AutonomyLevel


def run_demo(**options: Unpack[DemoOptions]) -> DemoResult:
    chosen, request = prepare_demo(**options)
    notifier = options.get("notifier")
    thread_id, out_dir, workspace = str(request.thread_id), Path(str(request.out_dir)), request.repo
    try:
        start_run(request, notifier=notifier)
    except BaseException:
        stop_target(workspace)
        raise
    doc = run_status(thread_id, checkpointer=request.checkpointer)
    keep_running = doc.get("status") == "awaiting_approval"
    return DemoResult(
        thread_id=thread_id,
        out_dir=out_dir,
        workspace=workspace,
        run=doc,
        target_running=keep_running,
        as_expected=ended_as_expected(chosen, llm=request.llm, stop_at=str(request.stop_at), doc=doc),
    )


def prepare_demo(
    *,
    scenario: str | None = None,
    llm: LLMMode = "none",
    out: Path | None = None,
    requested_by: str = "demo",
    checkpointer: str | None = None,
    notifier: Notifier | None = None,
    stop_at: AutonomyLevel = "merge",
) -> tuple[Scenario, RunRequest]:
    """The demo's workspace (a broken copy of the example, its target started) and the request of its run."""
    chosen = load_scenario(scenario or DEFAULT_SCENARIO)
    thread_id = new_thread_id()
    out_dir = (out or Path.cwd() / "fixloop-out" / thread_id).expanduser().resolve()
    workspace = out_dir / "workspace"
    out_dir.mkdir(parents=True, exist_ok=True)
    prepare_workspace(workspace, chosen)
    if notifier is not None:
        notifier.post(thread_id, f"scenario {chosen.name}: {chosen.description}")
    _start(workspace, thread_id, notifier)
    request = RunRequest(
        repo=workspace,
        focus=chosen.focus,
        requested_by=requested_by,
        llm=llm,
        out_dir=out_dir,
        scenario=chosen.name,
        checkpointer=checkpointer,
        thread_id=thread_id,
        extra={STOP_TARGET_AT_END: True},  # the run stops the target when it ends, in whichever process
        stop_at=stop_at,
    )
    return chosen, request


def expected_statuses(scenario: Scenario, *, llm: str, stop_at: str) -> tuple[str, ...]:
    """The statuses a demo of ``scenario`` should end in: without a model, or stopped at diagnosis,
    ``diagnosed``; a code fault with a model, a PR waiting for approval (``merge``/``pr``) or validated
    patches (``patch``: diagnosed); an infrastructure or flaky fault, a report (no code PR)."""
    from fixloop.evaluation.fix_metrics import expected_end

    if llm == "none" or stop_at == "diagnose":
        return ("diagnosed",)
    if expected_end(scenario) == "report":
        return ("diagnosed", "gave_up", "green")
    return ("diagnosed",) if stop_at == "patch" else ("awaiting_approval", "green")


def ended_as_expected(scenario: Scenario, *, llm: str, stop_at: str, doc: dict[str, Any]) -> bool:
    expected = expected_statuses(scenario, llm=llm, stop_at=stop_at)
    if expected_end_is_report(scenario, llm) and doc.get("prs"):
        return False  # a report-only fault never opens a code PR
    return doc.get("status") in expected


def expected_end_is_report(scenario: Scenario, llm: str) -> bool:
    from fixloop.evaluation.fix_metrics import expected_end

    return llm != "none" and expected_end(scenario) == "report"


def _start(workspace: Path, thread_id: str, notifier: Notifier | None) -> None:
    """Start the broken target; a fault that keeps it from starting is what the run will diagnose."""
    try:
        info = start_target(workspace)
    except TargetError as exc:
        text = f"the target did not start ({exc.one_line()}): the run goes on and diagnoses that"
    else:
        text = f"target started at {info.http_url} (revision {info.revision[:10]})"
    if notifier is not None:
        notifier.post(thread_id, text)
