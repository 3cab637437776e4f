"""``POST /github/webhook``: the GitHub issue bot.

The body is read up to its cap (413 past it, before the signature), ``X-Hub-Signature-256`` is
checked in constant time, the body decoded strictly (400 for non-UTF-8 or too deeply nested JSON)
and shape-checked (422); only then is the ``X-GitHub-Delivery`` id claimed in the server store
(``pending``: a concurrent duplicate is dropped), and recorded ``seen`` only once the delivery's job is
enqueued (or it needed none): a redelivery of a seen one starts nothing; one answered 5xx "busy" has its
keys forgotten, and a claim left by a server killed before the enqueue is taken over when its lease runs
out or its process is gone, so either redelivery is processed. A comment command is taken once per
comment id (a signed comment replayed under a fresh delivery id does nothing), a label event once per
(repo, issue, ``issue.updated_at``) (labels carry no id: a replayed ``labeled`` event starts nothing,
labelling the issue again later does),
and ``approve`` names the PR head commit it approves (``/fixloop approve <sha>``; without one the bot
answers with the command to confirm).
Repositories match the allow-list by full ``owner/name`` only.
Triggers: an issue comment ``/fixloop <focus>`` (or ``approve <sha>`` / ``reject <reason>`` /
``status`` / ``stop`` / ``help``) and the label ``fixloop`` on an issue.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fixloop.approval import heads_to_confirm
from fixloop.errors import FixloopError, UsageError
from fixloop.server.body import BadBody, parse_json, read_capped, utf8
from fixloop.server.chatops import ChatOps, StartPlan
from fixloop.server.commands import COMMAND_WORDS, USAGE, check_text, parse_heads, parse_start
from fixloop.server.faces import github_key
from fixloop.server.options import ServerOptions
from fixloop.server.payloads import GithubIssueEvent, shape_error
from fixloop.server.progress import open_heads
from fixloop.server.responses import disabled, unauthorized
from fixloop.server.secrets import ServerSecrets
from fixloop.server.signatures import github_signature_ok
from fixloop.server.workers import BusyError

log = logging.getLogger("fixloop.server")
TRIGGER_LABEL = "fixloop"


HELP = (
    "fixloop on an issue: `/fixloop <focus>` starts a run; then `/fixloop status`, `/fixloop stop`, "
    "`/fixloop approve <head sha>` (the PR head commit you approve), `/fixloop reject <reason>`. "
    f"`{USAGE}`"
)


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
        try:
            body = await read_capped(request, self.options.github_max_body)
            if not github_signature_ok(
                self.secrets.github_webhook_secret, body, request.headers.get("x-hub-signature-256")
            ):
                return unauthorized("invalid X-Hub-Signature-256")
            delivery = request.headers.get("x-github-delivery", "").strip()
            if not delivery or len(delivery) > 100:
                return JSONResponse({"error": "missing X-GitHub-Delivery"}, status_code=400)
            payload = parse_json(utf8(body))
        except BadBody as exc:
            return exc.response()
        event = request.headers.get("x-github-event", "")
        if event == "ping":
            return accepted("pong", status=200)
        if not isinstance(payload, dict) or "issue" not in payload:
            return accepted("ignored")
        try:
            hook = GithubIssueEvent.model_validate(payload)
        except ValidationError as exc:
            return JSONResponse({"error": shape_error(exc)}, status_code=422)
        # claimed only once it parsed: a delivery refused above can be sent again, fixed
        if not await self.ops.store_call(self.ops.store.claim, delivery, "github"):
            return accepted("duplicate", status=200, delivery=delivery)
        claimed = [delivery]
        processed = False
        try:
            response = await self._handle(hook, event, claimed)
            processed = response.status_code < 500  # 5xx "busy": nothing was enqueued
        finally:  # seen once enqueued; forgotten when not (busy, or an error), so the redelivery is processed
            for key in claimed:
                await self.ops.store_call(lambda key=key: self.ops.store.settle(key, processed=processed))
        return response

    async def _handle(self, hook: GithubIssueEvent, event: str, claimed: list[str]) -> Response:
        """The answer to a claimed delivery; the other keys it claims (comment id, label event) are added
        to ``claimed``, to be settled with it."""
        store = self.ops.store
        if hook.sender is not None and hook.sender.type == "Bot":
            return accepted("ignored")
        if event == "issue_comment" and hook.action == "created":
            args = fixloop_line((hook.comment.body or "") if hook.comment else "")
            if args is None:
                return accepted("ignored")
            comment_id = hook.comment.id if hook.comment else None
            if comment_id is None:
                return JSONResponse({"error": "payload of the wrong shape: comment.id: missing"}, status_code=422)
            comment_key = f"github-comment:{comment_id}"
            if not await self.ops.store_call(store.claim, comment_key, "github-comment"):
                return accepted("duplicate", status=200, comment=comment_id)  # a replayed comment does nothing
            claimed.append(comment_key)
            return await self._command(hook, args)
        if event == "issues" and hook.action == "labeled":
            if hook.label is None or hook.label.name != TRIGGER_LABEL:
                return accepted("ignored")
            # a label carries no id: the event is the issue at the time it was labelled. A replay under a
            # fresh delivery id has the same issue.updated_at; labelling again later moves it.
            when = (hook.issue.updated_at or "").strip()
            if not when:
                return JSONResponse({"error": "payload of the wrong shape: issue.updated_at: missing"}, status_code=422)
            full_name = (hook.repository.full_name if hook.repository else "").casefold()
            label_key = f"github-label:{full_name}#{hook.issue.number}:{TRIGGER_LABEL}:{when}"
            if not await self.ops.store_call(store.claim, label_key, "github-label"):
                return accepted("duplicate", status=200, issue=hook.issue.number)  # a replayed label starts nothing
            claimed.append(label_key)
            args = fixloop_line(hook.issue.body or "") or self.options.default_focus
            return await self._command(hook, args)
        return accepted("ignored")

    async def _command(self, hook: GithubIssueEvent, args: str) -> Response:
        full_name = hook.repository.full_name if hook.repository else ""
        number = hook.issue.number
        login = hook.sender.login if hook.sender else ""
        repo = self.options.github_repo(full_name)
        if repo is None:
            log.warning("webhook for %s ignored: not an allowed repo", full_name)
            return accepted("ignored", reason="repo not allowed")
        by = self.ops.github_name(login)
        key = github_key(full_name, number)
        verb, _, rest = args.partition(" ")
        verb = verb.casefold()
        if verb in ("help", "why"):
            self._chat(self._say, full_name, number, HELP)
            return accepted("help")
        if verb in COMMAND_WORDS:
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
                heads = parse_heads(rest) if verb == "approve" else None
            except UsageError as exc:
                self._chat(self._say, full_name, number, f":warning: {exc.one_line()}")
                return accepted("invalid")
            if verb == "approve" and not heads:
                self._chat(self._confirm, conv.thread_id, full_name, number)
                return accepted("confirm", thread=conv.thread_id)
            try:
                self.ops.workers.runs.submit(
                    self.ops.decide_job,
                    conv.thread_id,
                    by=by,
                    source="github",
                    decision=verb,
                    reason=reason,
                    heads=heads,
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

    def _confirm(self, thread_id: str, full_name: str, number: int) -> None:
        """``/fixloop approve`` without a commit: answer with the command naming the current head(s)."""
        try:
            run = self.ops.runner.status(thread_id)
        except FixloopError as exc:
            self._say(full_name, number, f"approval not taken: {exc.one_line()}")
            return
        heads = open_heads(run)
        if run.get("status") != "awaiting_approval" or not heads:
            self._say(full_name, number, f"run `{thread_id}` is not waiting for approval (status {run.get('status')})")
            return
        shas, shown = heads_to_confirm(heads)
        self._say(
            full_name,
            number,
            f"Nothing approved yet: an approval names the commit it approves ({shown}). To approve these, "
            f"comment `/fixloop approve {shas}`; it is void if a PR changes first.",
        )

    def _status(self, thread_id: str, full_name: str, number: int) -> None:
        self._say(full_name, number, self.ops.status_text(thread_id).replace("*", "**"))

    def _stop(self, thread_id: str, by: str, full_name: str, number: int) -> None:
        self._say(full_name, number, self.ops.stop(thread_id, by=by).replace(":octagonal_sign: ", ""))

    def _chat(self, job: Any, *args: Any) -> None:
        try:
            self.ops.workers.chat.submit(job, *args)
        except BusyError as exc:
            log.warning("chat job dropped: %s", exc)
