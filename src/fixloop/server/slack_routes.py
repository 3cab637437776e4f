"""``POST /slack/commands``, ``/slack/interactions`` and ``/slack/events``.

Each request is read up to its cap (413 past it, before anything else), verified (v0 signature
over the raw bytes, 5-minute replay window, and each signature accepted once: the server store
remembers them for the window), decoded strictly (400 for non-UTF-8 or too deeply nested JSON),
answered at once, and its work handed to a background worker. Approval buttons carry a value the
server signed for the message they sit on (``fixloop.server.buttons``); a ``response_url`` is
followed only to Slack (``ServerOptions.slack_response_origins``).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fixloop.approval import heads_to_confirm
from fixloop.errors import ApprovalError, FixloopError, UsageError
from fixloop.integrations.slack.blocks import APPROVE_ACTION, REJECT_ACTION, WHY_ACTION, decided_blocks, whys_text
from fixloop.server.body import BadBody, parse_json, read_capped, utf8
from fixloop.server.chatops import ChatOps, StartPlan
from fixloop.server.commands import USAGE, check_word, command_word, parse_reply, parse_start
from fixloop.server.faces import slack_key
from fixloop.server.options import ServerOptions
from fixloop.server.payloads import SlackBlockActions, SlackEnvelope, SlackMessageEvent, shape_error
from fixloop.server.progress import find_category, open_heads
from fixloop.server.responses import disabled, unauthorized
from fixloop.server.secrets import ServerSecrets
from fixloop.server.signatures import SLACK_WINDOW, slack_signature_ok
from fixloop.server.workers import BusyError

log = logging.getLogger("fixloop.server")


def ephemeral(text: str) -> JSONResponse:
    return JSONResponse({"response_type": "ephemeral", "text": text})


class SlackRoutes:
    def __init__(self, ops: ChatOps, secrets: ServerSecrets, options: ServerOptions) -> None:
        self.ops, self.secrets, self.options = ops, secrets, options
        self.signing_secret = secrets.slack_signing_secret if secrets.slack_enabled else None
        self.bot_user_id = options.bot_user_id

    def routes(self) -> list[Route]:
        return [
            Route("/slack/commands", self.commands, methods=["POST"]),
            Route("/slack/interactions", self.interactions, methods=["POST"]),
            Route("/slack/events", self.events, methods=["POST"]),
        ]

    async def _verified(
        self, request: Request, route: str, *, replay: Response | None = None
    ) -> tuple[str | None, Response | None]:
        """The body as text, or the answer refusing it: 403 disabled, 413 too large, 401 unsigned or stale,
        400 not UTF-8, 409 (or ``replay``) a signature already received."""
        if self.signing_secret is None:
            return None, disabled(route, self.secrets.missing_slack())
        try:
            body = await read_capped(request, self.options.slack_max_body)
            signature = request.headers.get("x-slack-signature")
            if not slack_signature_ok(
                self.signing_secret, body, request.headers.get("x-slack-request-timestamp"), signature
            ):
                return None, unauthorized("invalid or expired Slack signature")
            text = utf8(body)
        except BadBody as exc:
            return None, exc.response()
        assert signature is not None
        store = self.ops.store
        if not await self.ops.store_call(
            lambda: store.first_seen(signature, "slack-signature", forget_after=2 * SLACK_WINDOW)
        ):
            return None, replay or JSONResponse({"error": "replayed request: this signature was already received"}, 409)
        return text, None

    def _response_url(self, url: str) -> Response | None:
        """A refusal when ``url`` is set but not Slack's (a forged request would make us post elsewhere)."""
        if url and not self.options.response_url_allowed(url):
            log.warning("Slack request refused: its response_url is not a Slack host")
            return JSONResponse({"error": "response_url is not a Slack host"}, status_code=400)
        return None

    # ------------------------------------------------------------ /fixloop

    async def commands(self, request: Request) -> Response:
        body, refusal = await self._verified(request, "/slack/commands")
        if refusal is not None or body is None:
            return refusal or unauthorized("no body")
        form = {k: v[0] for k, v in parse_qs(body).items()}
        if (refusal := self._response_url(form.get("response_url", ""))) is not None:
            return refusal
        user, channel = form.get("user_id", ""), form.get("channel_id", "")
        if not user or not channel:
            return ephemeral(":warning: the command carries no user or channel")
        word = command_word(form.get("text", ""))
        if word is not None:  # `/fixloop status` answers; a command word never becomes a run's focus
            return ephemeral(await self._command_help(word))
        try:
            command = parse_start(form.get("text", ""))
            repo = self._repo(command.repo)
            llm = self.options.llm_for(command.llm)
        except UsageError as exc:
            return ephemeral(f":warning: {exc.one_line()}\n{USAGE}")
        requested_by = self.ops.slack_name(user)
        plan = await self.ops.store_call(
            lambda: self.ops.plan_start(
                repo=repo,
                focus=command.focus,
                requested_by=requested_by,
                source="slack",
                llm=llm,
                scenario=command.scenario,
                prefix="slack",
            )
        )
        if plan.joined:
            self._chat(self._announce_join, plan, user)
            return JSONResponse(
                {
                    "response_type": "in_channel",
                    "text": f"A run for {repo} / {command.focus} is already active: joined `{plan.thread_id}`",
                }
            )
        try:
            self.ops.workers.runs.submit(self._open_and_run, plan, channel, user)
        except BusyError as exc:
            await self.ops.store_call(self.ops.release, plan.thread_id)
            return ephemeral(f":hourglass: fixloop is busy ({exc}); try again in a few minutes")
        return JSONResponse(
            {
                "response_type": "in_channel",
                "text": f"Starting fixloop run `{plan.thread_id}`: focus *{command.focus}* on *{repo}*"
                f" (llm {llm}); progress follows in a thread.",
            }
        )

    async def _command_help(self, word: str) -> str:
        if word == "status":
            active = await self.ops.store_call(self.ops.store.active_runs)
            listed = "\n".join(f"• `{c.thread_id}`: {c.focus} on {c.repo}" for c in active) or "no active run"
            return f"Active fixloop runs:\n{listed}\nIn a run's thread, mention me with `status` for its details."
        return (
            f"`{word}` is answered in a run's thread: mention me there (status, why <category>, approve <head sha>, "
            f"reject <reason>, stop).\nTo start a run: {USAGE}"
        )

    def _repo(self, name: str | None) -> str:
        chosen = name or self.options.default_repo
        if chosen is None:
            raise UsageError("no repo given and this server has no default repo")
        if chosen not in self.options.repos:
            allowed = ", ".join(sorted(self.options.repos)) or "none"
            raise UsageError(f"repo {chosen!r} is not allowed on this server (allowed: {allowed})")
        return chosen

    def _open_and_run(self, plan: StartPlan, channel: str, user: str) -> None:
        """Worker: open the run's Slack thread, then run the remediation."""
        assert self.ops.slack is not None
        text = (
            f":wrench: fixloop run `{plan.thread_id}`: focus *{plan.focus}* on *{plan.repo}*, "
            f"requested by <@{user}> (llm {plan.llm}). Mention me here: status, why <category>, approve <head sha>, "
            "reject <reason>, stop."
        )
        ts = self.ops.slack.post(channel, text)
        self.ops.store.bind(
            slack_key(channel, ts), plan.thread_id, repo=plan.repo, focus=plan.focus, requested_by=plan.requested_by
        )
        self.ops.run_job(plan)

    def _announce_join(self, plan: StartPlan, user: str) -> None:
        self.ops.say_all(plan.thread_id, f"<@{user}> asked for the same run ({plan.repo} / {plan.focus}) and joined it")

    def _chat(self, job: Any, *args: Any) -> bool:
        """Submit ``job`` to the chat pool; False when it was dropped (the pool is full)."""
        try:
            self.ops.workers.chat.submit(job, *args)
        except BusyError as exc:
            log.warning("chat job dropped: %s", exc)
            return False
        return True

    # ------------------------------------------------------------ buttons

    async def interactions(self, request: Request) -> Response:
        body, refusal = await self._verified(request, "/slack/interactions")
        if refusal is not None or body is None:
            return refusal or unauthorized("no body")
        form = parse_qs(body)
        try:
            raw = parse_json(form.get("payload", ["{}"])[0])
            if SlackEnvelope.model_validate(raw).type != "block_actions":
                return Response(status_code=200)
            payload = SlackBlockActions.model_validate(raw)
        except BadBody as exc:
            return exc.response()
        except ValidationError as exc:
            return JSONResponse({"error": shape_error(exc)}, status_code=400)
        if not payload.actions:
            return Response(status_code=200)
        action = payload.actions[0]
        action_id, value = action.action_id, action.value
        user = payload.user.id if payload.user else ""
        response_url = payload.response_url
        if (refusal := self._response_url(response_url)) is not None:
            return refusal
        channel = payload.channel.id if payload.channel else ""
        message_ts = payload.message.ts if payload.message else ""
        thread_value = value.partition("|")[0]
        try:
            check_word(thread_value, "thread id")
        except UsageError as exc:
            return ephemeral(f":warning: {exc.one_line()}")
        if action_id in (APPROVE_ACTION, REJECT_ACTION):
            by = self.ops.slack_name(user)
            decision = "approve" if action_id == APPROVE_ACTION else "reject"
            try:
                if self.ops.buttons is None:
                    raise ApprovalError("this server signs no buttons: mention me in the run's thread instead")
                claim = self.ops.buttons.verify(value, channel=channel, message_ts=message_ts)
            except ApprovalError as exc:  # another message's button, an edited value: nothing decided or rewritten
                log.warning("Slack click refused: %s", exc.one_line())
                self._respond(response_url, f":no_entry: {exc.one_line()}")
                return JSONResponse({"error": exc.one_line()}, status_code=403)
            reason = f"rejected from Slack by {by} (no reason given)" if decision == "reject" else ""
            try:
                self.ops.workers.runs.submit(
                    self.ops.decide_job,
                    claim.thread_id,
                    by=by,
                    source="slack",
                    decision=decision,
                    reason=reason,
                    heads=claim.shas if decision == "approve" else None,
                    on_refused=lambda text: self._respond(response_url, text),
                    on_done=lambda run: self._mark_decided(channel, message_ts, decision, by, run),
                )
            except BusyError as exc:
                return ephemeral(f":hourglass: fixloop is busy ({exc})")
            return Response(status_code=200)
        if action_id == WHY_ACTION:
            thread_ts = (payload.message.thread_ts if payload.message else None) or message_ts
            try:
                if self.ops.buttons is None:
                    raise ApprovalError("this server signs no buttons: mention me with `why <category>` instead")
                thread_id, category = self.ops.buttons.verify_why(value, channel=channel, thread_ts=thread_ts)
            except ApprovalError as exc:  # forged, edited or another thread's: nothing read or posted
                log.warning("Slack click refused: %s", exc.one_line())
                self._respond(response_url, f":no_entry: {exc.one_line()}")
                return JSONResponse({"error": exc.one_line()}, status_code=403)
            self._chat(self._post_whys, thread_id, category, channel, thread_ts)
            return Response(status_code=200)
        return Response(status_code=200)

    def _respond(self, response_url: str, text: str) -> None:
        if response_url and self.options.response_url_allowed(response_url) and self.ops.slack is not None:
            self.ops.safely(self.ops.slack.respond, response_url, text)

    def _mark_decided(self, channel: str, ts: str, decision: str, by: str, run: dict[str, Any]) -> None:
        slack = self.ops.slack
        if not (channel and ts and slack is not None):
            return
        verb = "Approved" if decision == "approve" else "Rejected"
        text = f"{verb} by {by}; the run is now *{run.get('status', '?')}*"
        self.ops.safely(slack.update, channel, ts, text, blocks=decided_blocks(text))

    def _post_whys(self, thread_id: str, category: str, channel: str, thread_ts: str) -> None:
        assert self.ops.slack is not None
        try:
            view = find_category(self.ops.runner.status(thread_id), category)
        except Exception as exc:  # answered in the thread, never raised at Slack
            view, error = None, str(exc)
        else:
            error = f"no category {category!r} in run {thread_id}"
        text = whys_text(view) if view is not None else error
        self.ops.safely(self.ops.slack.post, channel, text, thread_ts=thread_ts)

    # ------------------------------------------------------------ mentions in a run's thread

    async def events(self, request: Request) -> Response:
        body, refusal = await self._verified(request, "/slack/events", replay=Response(status_code=200))
        if refusal is not None or body is None:
            return refusal or unauthorized("no body")
        try:
            payload = SlackEnvelope.model_validate(parse_json(body))
        except BadBody as exc:
            return exc.response()
        except ValidationError as exc:
            return JSONResponse({"error": shape_error(exc)}, status_code=400)
        if payload.type == "url_verification":
            return JSONResponse({"challenge": payload.challenge})
        event_id = payload.event_id.strip()[:100]
        if not event_id:  # no id to claim: a retry is taken as one of an event already acknowledged
            if request.headers.get("x-slack-retry-num"):
                return Response(status_code=200)
            return self._event(payload)[0]
        # the event id is claimed as a GitHub delivery id is: seen once its reply job is queued; a retry of a
        # seen (or in-progress) event does nothing; one whose first delivery died before the queue is processed
        key, store = f"slack-event:{event_id}", self.ops.store
        if not await self.ops.store_call(store.claim, key, "slack-event"):
            return Response(status_code=200)
        processed = False
        try:
            response, processed = self._event(payload)
        finally:
            await self.ops.store_call(lambda: store.settle(key, processed=processed))
        return response

    def _event(self, payload: SlackEnvelope) -> tuple[Response, bool]:
        """The answer to an event, and whether it was handled (False: its reply job was dropped, busy)."""
        raw_event = payload.event or {}
        if payload.type == "event_callback" and raw_event.get("type") in ("app_mention", "message"):
            try:
                event = SlackMessageEvent.model_validate(raw_event)
            except ValidationError as exc:
                return JSONResponse({"error": shape_error(exc)}, status_code=400), True
            if event.bot_id or not event.thread_ts:
                return Response(status_code=200), True
            if event.type == "message" and self.bot_user_id and f"<@{self.bot_user_id}>" not in event.text:
                return Response(status_code=200), True
            if not self._chat(self._reply, event):  # dropped: Slack retries a 5xx, and the retry is processed
                return JSONResponse({"error": "busy"}, status_code=503), False
            return Response(status_code=200), True
        return Response(status_code=200), True

    def _reply(self, event: SlackMessageEvent) -> None:
        """Worker: a mention in a run's thread -> status / why / approve / reject / stop."""
        slack = self.ops.slack
        assert slack is not None
        channel, thread_ts, user = event.channel, str(event.thread_ts), event.user
        conv = self.ops.store.conversation(slack_key(channel, thread_ts))

        def answer(text: str) -> None:
            self.ops.safely(slack.post, channel, text, thread_ts=thread_ts)

        if conv is None:
            answer("this thread is not a fixloop run; start one with /fixloop <focus>")
            return
        try:
            reply = parse_reply(event.text)
        except UsageError as exc:
            answer(f":warning: {exc.one_line()}")
            return
        by = self.ops.slack_name(user)
        if reply.verb == "status":
            answer(self.ops.status_text(conv.thread_id))
        elif reply.verb == "why":
            self._post_whys(conv.thread_id, reply.argument, channel, thread_ts)
        elif reply.verb == "approve" and not reply.argument:
            answer(self._confirm_text(conv.thread_id))  # an approval names the heads it approves
        elif reply.verb in ("approve", "reject"):
            try:
                self.ops.workers.runs.submit(
                    self.ops.decide_job,
                    conv.thread_id,
                    by=by,
                    source="slack",
                    decision=reply.verb,
                    reason=reply.argument if reply.verb == "reject" else "",
                    heads=tuple(reply.argument.split()) if reply.verb == "approve" else None,
                )
            except BusyError as exc:
                answer(f":hourglass: fixloop is busy ({exc})")
        elif reply.verb == "stop":
            answer(self.ops.stop(conv.thread_id, by=by))
        else:
            answer("I understand: status, why <category>, approve <head sha>, reject <reason>, stop")

    def _confirm_text(self, thread_id: str) -> str:
        """``approve`` without a commit: the command naming the current head(s), to confirm."""
        try:
            run = self.ops.runner.status(thread_id)
        except FixloopError as exc:
            return f"approval not taken: {exc.one_line()}"
        heads = open_heads(run)
        if run.get("status") != "awaiting_approval" or not heads:
            return f"run `{thread_id}` is not waiting for approval (status {run.get('status')})"
        shas, shown = heads_to_confirm(heads)
        return (
            f"Nothing approved yet: an approval names the commit it approves ({shown}). To approve these, "
            f"mention me with `approve {shas}`, or click Approve on the approval message; it is void if a PR "
            "changes first."
        )
