"""``POST /github/webhook``: the GitHub issue bot.

``X-Hub-Signature-256`` is checked in constant time before anything is read; each
``X-GitHub-Delivery`` id is recorded in the server store and a redelivery starts nothing, unless
the first delivery was answered 5xx ("busy"): then its id is forgotten and the redelivery is processed.
Triggers: an issue comment ``/fixloop <focus>`` (or ``approve`` / ``reject <reason>`` /
``status``) and the label ``fixloop`` on an issue.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fixloop.errors import UsageError
from fixloop.server.chatops import ChatOps, StartPlan
from fixloop.server.commands import USAGE, check_text, parse_start
from fixloop.server.faces import github_key
from fixloop.server.options import ServerOptions
from fixloop.server.payloads import GithubIssueEvent, shape_error
from fixloop.server.responses import disabled, unauthorized
from fixloop.server.secrets import ServerSecrets
from fixloop.server.workers import BusyError

log = logging.getLogger("fixloop.server")
TRIGGER_LABEL = "fixloop"
MAX_BODY = 1_000_000


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """``sha256=<hex>`` of the body under ``secret``, compared in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def fixloop_line(text: str) -> str | None:
    """The arguments of the first ``/fixloop ...`` line of a comment, if any."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == "/fixloop" or stripped.startswith("/fixloop "):
            return stripped[len("/fixloop") :].strip()
    return None


def accepted(what: str, status: int = 202, **extra: Any) -> JSONResponse:
    return JSONResponse({"result": what, **extra}, status_code=status)


class GithubRoutes:
    def __init__(self, ops: ChatOps, secrets: ServerSecrets, options: ServerOptions) -> None:
        self.ops, self.secrets, self.options = ops, secrets, options

    def routes(self) -> list[Route]:
        return [Route("/github/webhook", self.webhook, methods=["POST"])]

    async def webhook(self, request: Request) -> Response:
        if not self.secrets.github_enabled or not self.secrets.github_webhook_secret:
            return disabled("/github/webhook", self.secrets.missing_github())
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "payload too large"}, status_code=413)
        if not signature_ok(self.secrets.github_webhook_secret, body, request.headers.get("x-hub-signature-256")):
            return unauthorized("invalid X-Hub-Signature-256")
        delivery = request.headers.get("x-github-delivery", "").strip()
        if not delivery or len(delivery) > 100:
            return JSONResponse({"error": "missing X-GitHub-Delivery"}, status_code=400)
        if not await self.ops.store_call(self.ops.store.first_delivery, delivery):
            return accepted("duplicate", status=200, delivery=delivery)
        response = await self._handle(request, body)
        if response.status_code >= 500:  # not processed ("busy"): GitHub's redelivery must be, so it is not seen
            await self.ops.store_call(self.ops.store.forget_delivery, delivery)
        return response

    async def _handle(self, request: Request, body: bytes) -> Response:
        """A first delivery: parse it and dispatch its command."""
        try:
            payload = json.loads(body)
        except json.JSONDecodeError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        event = request.headers.get("x-github-event", "")
        if event == "ping":
            return accepted("pong", status=200)
        if not isinstance(payload, dict) or "issue" not in payload:
            return accepted("ignored")
        try:
            hook = GithubIssueEvent.model_validate(payload)
        except ValidationError as exc:
            return JSONResponse({"error": shape_error(exc)}, status_code=422)
        if hook.sender is not None and hook.sender.type == "Bot":
            return accepted("ignored")
        if event == "issue_comment" and hook.action == "created":
            args = fixloop_line((hook.comment.body or "") if hook.comment else "")
            if args is None:
                return accepted("ignored")
            return await self._command(hook, args)
        if event == "issues" and hook.action == "labeled":
            if hook.label is None or hook.label.name != TRIGGER_LABEL:
                return accepted("ignored")
            args = fixloop_line(hook.issue.body or "") or self.options.default_focus
            return await self._command(hook, args)
        return accepted("ignored")

    def _repo(self, full_name: str) -> str | None:
        for name in (full_name, full_name.rpartition("/")[2]):
            if name in self.options.repos:
                return name
        return None

    async def _command(self, hook: GithubIssueEvent, args: str) -> Response:
        full_name = hook.repository.full_name if hook.repository else ""
        number = hook.issue.number
        login = hook.sender.login if hook.sender else ""
        repo = self._repo(full_name)
        if repo is None:
            log.warning("webhook for %s ignored: not an allowed repo", full_name)
            return accepted("ignored", reason="repo not allowed")
        by = self.ops.github_name(login)
        key = github_key(full_name, number)
        verb, _, rest = args.partition(" ")
        if verb in ("approve", "reject", "status", "stop"):
            conv = await self.ops.store_call(self.ops.store.conversation, key)
            if conv is None:
                self._chat(
                    self._say, full_name, number, "this issue has no fixloop run yet: comment `/fixloop <focus>`"
                )
                return accepted("no-run")
            if verb == "status":
                self._chat(self._status, conv.thread_id, full_name, number)
                return accepted("status")
            if verb == "stop":
                self._chat(self._stop, conv.thread_id, by, full_name, number)
                return accepted("stop", thread=conv.thread_id)
            try:
                reason = check_text(rest, limit=1000) if verb == "reject" else ""
                if verb == "reject" and not reason:
                    raise UsageError("reject needs a reason: `/fixloop reject <reason>`")
            except UsageError as exc:
                self._chat(self._say, full_name, number, f":warning: {exc.one_line()}")
                return accepted("invalid")
            try:
                self.ops.workers.runs.submit(
                    self.ops.decide_job, conv.thread_id, by=by, source="github", decision=verb, reason=reason
                )
            except BusyError:
                return JSONResponse({"error": "busy"}, status_code=503)
            return accepted(verb, thread=conv.thread_id)
        try:
            command = parse_start(args)
            llm = self.options.llm_for(command.llm)
        except UsageError as exc:
            self._chat(self._say, full_name, number, f":warning: {exc.one_line()}\n\n`{USAGE}`")
            return accepted("invalid")
        plan = await self.ops.store_call(
            lambda: self.ops.plan_start(
                repo=repo,
                focus=command.focus,
                requested_by=by,
                source="github",
                llm=llm,
                scenario=command.scenario,
                prefix="gh",
            )
        )
        await self.ops.store_call(
            lambda: self.ops.store.bind(key, plan.thread_id, repo=repo, focus=command.focus, requested_by=by)
        )
        if plan.joined:
            self._chat(
                self._say,
                full_name,
                number,
                f"joined the active fixloop run `{plan.thread_id}` for {repo} / {command.focus}",
            )
            return accepted("joined", thread=plan.thread_id)
        try:
            self.ops.workers.runs.submit(self._announce_and_run, plan, full_name, number)
        except BusyError:
            await self.ops.store_call(self.ops.release, plan.thread_id)
            return JSONResponse({"error": "busy"}, status_code=503)
        return accepted("started", thread=plan.thread_id)

    def _announce_and_run(self, plan: StartPlan, full_name: str, number: int) -> None:
        self._say(
            full_name,
            number,
            f"fixloop run `{plan.thread_id}` started: focus **{plan.focus}** on "
            f"**{plan.repo}**, requested by {plan.requested_by} (llm {plan.llm}). "
            "Comment `/fixloop status` or `/fixloop stop` (no patch, PR or merge from its next step).",
        )
        self.ops.run_job(plan)

    def _say(self, full_name: str, number: int, text: str) -> None:
        if self.ops.github is not None:
            self.ops.safely(self.ops.github.comment, full_name, number, text)

    def _status(self, thread_id: str, full_name: str, number: int) -> None:
        self._say(full_name, number, self.ops.status_text(thread_id).replace("*", "**"))

    def _stop(self, thread_id: str, by: str, full_name: str, number: int) -> None:
        self._say(full_name, number, self.ops.stop(thread_id, by=by).replace(":octagonal_sign: ", ""))

    def _chat(self, job: Any, *args: Any) -> None:
        try:
            self.ops.workers.chat.submit(job, *args)
        except BusyError as exc:
            log.warning("chat job dropped: %s", exc)
