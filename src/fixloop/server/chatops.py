"""The chat-ops service: start or join runs, watch their progress, take decisions.

Routes only verify, parse and dispatch; everything here runs in the background
workers. Which chat threads belong to a run is kept in the ``ServerStore`` so that any
``serve`` process sharing the store can post to them.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import anyio

from fixloop.config import Settings
from fixloop.errors import ApprovalError, FixloopError, RunNotFoundError
from fixloop.integrations.github_bot import IssueBot
from fixloop.integrations.slack.thread import SlackPoster
from fixloop.server.buttons import ButtonSigner
from fixloop.server.faces import ChatThread, IssueThread, SlackThread
from fixloop.server.options import ServerOptions
from fixloop.server.progress import ProgressItem, progress_items
from fixloop.server.runner import TERMINAL, Runner
from fixloop.server.store import Conversation, ServerStore
from fixloop.server.workers import Workers
from fixloop.server.workspaces import DEFAULT_DEMO_SCENARIO, prepare_demo, run_dir, stop_demo

log = logging.getLogger("fixloop.server")
T = TypeVar("T")


@dataclass(frozen=True)
class StartPlan:
    thread_id: str
    repo: str
    focus: str
    requested_by: str
    source: str
    llm: str
    scenario: str | None
    joined: bool  # True: an active run for this repo + focus already exists


class ChatOps:
    def __init__(
        self,
        *,
        runner: Runner,
        store: ServerStore,
        workers: Workers,
        options: ServerOptions,
        settings: Settings,
        slack: SlackPoster | None,
        github: IssueBot | None,
        buttons: ButtonSigner | None = None,
    ) -> None:
        self.runner, self.store, self.workers = runner, store, workers
        self.options, self.settings = options, settings
        self.slack, self.github = slack, github
        self.buttons = buttons  # signs the approval buttons this server posts
        self._start_lock = threading.Lock()
        self._posted_lock = threading.Lock()
        self._posted: dict[str, set[str]] = {}  # face key -> progress keys already posted there
        self._warm_lock = threading.Lock()
        self._warm = False

    async def store_call(self, call: Callable[..., T], *args: Any) -> T:
        """Run a store call from a route: inline for SQLite (well under a millisecond; a thread hop
        costs more under load), in a worker thread for PostgreSQL (a network round trip)."""
        if self.store.postgres:
            return await anyio.to_thread.run_sync(call, *args)
        return call(*args)

    # ------------------------------------------------------------ names

    def slack_name(self, user_id: str) -> str:
        """The approver name of a Slack user (``slack:<id>`` when unmapped: never an approver by accident)."""
        return self.settings.approval.slack_users.get(user_id, f"slack:{user_id}")

    def github_name(self, login: str) -> str:
        return self.settings.approval.github_users.get(login, f"github:{login}")

    def run_url(self, thread_id: str) -> str:
        return f"{self.options.public_url.rstrip('/')}/runs/{thread_id}" if self.options.public_url else ""

    # ------------------------------------------------------------ start or join

    def plan_start(
        self, *, repo: str, focus: str, requested_by: str, source: str, llm: str, scenario: str | None, prefix: str
    ) -> StartPlan:
        """Join the active run for ``repo`` + ``focus``, or claim a new thread id for one (fast: store only)."""
        with self._start_lock:
            active = self.store.active_run(repo, focus)
            if active is not None:
                return StartPlan(active.thread_id, repo, focus, requested_by, source, llm, scenario, joined=True)
            thread_id = f"{prefix}-{uuid.uuid4().hex[:12]}"
            self.store.bind(f"run:{thread_id}", thread_id, repo=repo, focus=focus, requested_by=requested_by)
            return StartPlan(thread_id, repo, focus, requested_by, source, llm, scenario, joined=False)

    def release(self, thread_id: str) -> None:
        """The run is over: no longer joinable, and its demo target (if any) is stopped."""
        if not self.store.set_active(thread_id, False):
            return
        home = self.store.conversation(f"run:{thread_id}")
        if home is not None and home.meta:
            try:
                stop_demo(Path(home.meta))
            except FixloopError as exc:
                log.warning("stopping the demo target of %s failed: %s", thread_id, exc.one_line())

    def _workspace(self, plan: StartPlan) -> Path:
        """The repo the run works in: the allowed repo itself, or a fresh copy of the bundled example."""
        if not self.options.is_demo(plan.repo):
            return self.options.repos[plan.repo]
        workspace = prepare_demo(plan.thread_id, plan.scenario)
        self.store.bind(
            f"run:{plan.thread_id}",
            plan.thread_id,
            repo=plan.repo,
            focus=plan.focus,
            requested_by=plan.requested_by,
            meta=str(workspace),
        )
        self.say_all(
            plan.thread_id,
            f"demo workspace ready: the bundled example with scenario "
            f"{plan.scenario or DEFAULT_DEMO_SCENARIO}, target started",
        )
        return workspace

    def _warm_up(self) -> None:
        """Open the run store once, alone, before a job and its watcher both open it: a store's first
        open creates its tables, and two first opens at once race (PostgreSQL ``CREATE TABLE`` is not
        safe to run concurrently even with ``IF NOT EXISTS``)."""
        with self._warm_lock:
            if self._warm:
                return
            try:
                self.runner.list()
                self._warm = True
            except FixloopError as exc:
                log.warning("run store not ready: %s", exc.one_line())

    def run_job(self, plan: StartPlan) -> None:
        """Background: run the remediation, posting progress to the run's chat threads as it goes."""
        self._warm_up()
        with self._watching(plan.thread_id):
            try:
                repo_path = self._workspace(plan)
                self.runner.start(
                    repo=repo_path,
                    focus=plan.focus,
                    requested_by=plan.requested_by,
                    source=plan.source,
                    llm=plan.llm,
                    thread_id=plan.thread_id,
                    scenario=plan.scenario,
                    out_dir=run_dir(plan.thread_id),
                    extra=dict(self.options.extra_run_fields),
                )
            except FixloopError as exc:
                self.say_all(plan.thread_id, f":x: run `{plan.thread_id}` stopped: {exc.one_line()}")
                self.release(plan.thread_id)
                return
            except Exception as exc:
                detail = str(exc).splitlines()[0][:200] if str(exc) else ""
                self.say_all(
                    plan.thread_id, f":x: run `{plan.thread_id}` failed: internal error {type(exc).__name__}: {detail}"
                )
                self.release(plan.thread_id)
                raise

    # ------------------------------------------------------------ decisions

    def decide_job(
        self,
        thread_id: str,
        *,
        by: str,
        source: str,
        decision: str,
        reason: str = "",
        heads: Sequence[str] | None = None,
        on_refused: Callable[[str], None] | None = None,
        on_done: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """Background: approve or reject through ``fixloop.runs`` (which applies the approval rules; an approval
        naming ``heads`` holds only while they are the waiting PRs' head commits)."""
        self._warm_up()
        self.flush(thread_id, seed=True)  # what another process already posted is not posted again
        with self._watching(thread_id):
            try:
                if decision == "approve":
                    run = self.runner.approve(thread_id, by=by, source=source, heads=heads)
                else:
                    run = self.runner.reject(thread_id, by=by, reason=reason, source=source)
            except ApprovalError as exc:
                message = f":no_entry: {decision} by {by} refused: {exc.one_line()}"
                self.say_all(thread_id, message)
                if on_refused:
                    on_refused(message)
                return
            except FixloopError as exc:
                message = f":x: {decision} by {by} failed: {exc.one_line()}"
                self.say_all(thread_id, message)
                if on_refused:
                    on_refused(message)
                return
        if on_done:
            on_done(run)

    # ------------------------------------------------------------ thread replies

    def status_text(self, thread_id: str) -> str:
        from fixloop.server.progress import status_text

        try:
            return status_text(self.runner.status(thread_id))
        except RunNotFoundError:
            return f"run `{thread_id}` has no checkpoint yet (it may still be queued)"
        except FixloopError as exc:
            return f"status of `{thread_id}` is not available: {exc.one_line()}"

    def stop(self, thread_id: str, *, by: str) -> str:
        """Anyone in the thread may stop a run: it only lowers what the run may do (never raises it)."""
        try:
            answer = self.runner.stop(thread_id, by=by)
        except FixloopError as exc:
            return f"stop by {by} refused: {exc.one_line()}"
        return f":octagonal_sign: {answer}. If it waits for approval, `reject <reason>` ends it now."

    # ------------------------------------------------------------ faces and progress

    def faces(self, thread_id: str) -> list[ChatThread]:
        """Every chat thread bound to ``thread_id`` that this server can post to."""
        out: list[ChatThread] = []
        for conv in self.store.conversations_of(thread_id):
            face = self._face(conv)
            if face is not None:
                out.append(face)
        return out

    def _face(self, conv: Conversation) -> ChatThread | None:
        kind, _, rest = conv.key.partition(":")
        if kind == "slack" and self.slack is not None:
            channel, _, ts = rest.partition(":")
            return SlackThread(
                self.slack, channel, ts, conv.thread_id, self.run_url(conv.thread_id), buttons=self.buttons
            )
        if kind == "github" and self.github is not None:
            repo, _, number = rest.rpartition("#")
            return IssueThread(self.github, repo, int(number), conv.thread_id, self.run_url(conv.thread_id))
        return None

    def say_all(self, thread_id: str, text: str) -> None:
        for face in self.faces(thread_id):
            self.safely(face.say, text)

    def flush(self, thread_id: str, *, seed: bool = False) -> dict[str, Any] | None:
        """Post the progress items each face has not shown yet; with ``seed``, only mark unknown faces."""
        try:
            run = self.runner.status(thread_id)
        except FixloopError:
            return None
        items = progress_items(run)
        for face in self.faces(thread_id):
            with self._posted_lock:
                known = self._posted.get(face.key)
                if known is None:
                    known = self._posted[face.key] = {i.key for i in items} if seed else set()
                fresh: list[ProgressItem] = [i for i in items if i.key not in known]
                known.update(i.key for i in fresh)
            if fresh:
                self.safely(face.publish, fresh)
        status = run.get("status")
        if isinstance(status, str) and status in TERMINAL:
            self.release(thread_id)
        return run

    def safely(self, post: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """Post, logging (not raising) a chat failure: a worker never dies of a Slack or GitHub outage."""
        try:
            post(*args, **kwargs)
        except FixloopError as exc:
            log.warning("chat post failed: %s", exc.one_line())

    def _watching(self, thread_id: str) -> _Watch:
        return _Watch(self, thread_id, self.options.poll_interval)


class _Watch:
    """While a job drives the graph, poll run.json and post new progress; flush once more at the end."""

    def __init__(self, ops: ChatOps, thread_id: str, interval: float) -> None:
        self.ops, self.thread_id, self.interval = ops, thread_id, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"watch-{thread_id}", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.ops.flush(self.thread_id)
            except Exception:  # a watcher never kills the job it watches
                log.exception("progress watcher for %s failed", self.thread_id)

    def __enter__(self) -> _Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.ops.flush(self.thread_id)
