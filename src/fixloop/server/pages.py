"""The run pages of ``fixloop serve``: ``/runs`` (a list) and ``/runs/{thread}`` (one run), as HTML.

The same paths answer JSON to API clients (``RunsRoutes``); a browser (``Accept: text/html``) gets the page.
Reading needs a sign-in (``page_auth``); approve / reject / stop are CSRF-protected form POSTs by a signed-in
user, handed to the same ``ChatOps.decide_job`` as Slack and GitHub (``fixloop.runs`` applies the approval
rules and records who and how: ``source="page"``).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import anyio
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from fixloop.errors import FixloopError, RunNotFoundError, UsageError
from fixloop.server.body import BadBody, read_capped, utf8
from fixloop.server.chatops import ChatOps
from fixloop.server.commands import MAX_REASON, check_text, check_word
from fixloop.server.page_auth import COOKIE, SESSION_SECONDS, PageAuth, Viewer
from fixloop.server.page_events import fingerprint, page_events
from fixloop.server.page_list import ListQuery, list_page
from fixloop.server.page_view import run_view
from fixloop.server.runs_routes import RunsRoutes
from fixloop.server.workers import BusyError
from fixloop.verdict import read_verdict

TEMPLATES = Path(__file__).parent / "templates"
FORM_MAX_BODY = 16 * 1024
NOTICES = 8  # kept per run, newest last


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


class Notices:
    """What the page's actions answered (submitted, refused, stopped), per run, in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_run: dict[str, deque[tuple[float, str]]] = {}

    def add(self, thread_id: str, text: str) -> None:
        with self._lock:
            self._by_run.setdefault(thread_id, deque(maxlen=NOTICES)).append((time.time(), text))

    def of(self, thread_id: str) -> list[str]:
        with self._lock:
            return [text for _, text in self._by_run.get(thread_id, ())]


class Pages:
    def __init__(self, ops: ChatOps, auth: PageAuth, api: RunsRoutes) -> None:
        self.ops, self.auth, self.api = ops, auth, api
        self.notices = Notices()
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2", "html"]), trim_blocks=True
        )

    def routes(self) -> list[Route]:
        return [
            Route("/", self.home, methods=["GET"]),
            Route("/signin", self.signin_form, methods=["GET"]),
            Route("/signin", self.signin, methods=["POST"]),
            Route("/signout", self.signout, methods=["POST"]),
            Route("/runs", self.list_runs, methods=["GET"]),
            Route("/runs/{thread}", self.run_page, methods=["GET"]),
            Route("/runs/{thread}/live", self.live, methods=["GET"]),
            Route("/runs/{thread}/worklog.md", self.download, methods=["GET"]),
            Route("/runs/{thread}/run.json", self.download, methods=["GET"]),
            Route("/runs/{thread}/{action:str}", self.act, methods=["POST"]),
        ]

    # ------------------------------------------------------------ helpers

    def _render(self, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        html = self.env.get_template(name).render(**values)
        return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})

    def _page(
        self, request: Request, name: str, viewer: Viewer | None, status_code: int = 200, **values: Any
    ) -> Response:
        csrf = self.auth.csrf_token(viewer) if viewer is not None and viewer.can_act else ""
        return self._render(name, status_code, viewer=viewer, csrf=csrf, **values)

    def _message(self, request: Request, viewer: Viewer | None, title: str, text: str, status_code: int) -> Response:
        return self._page(request, "message.html.j2", viewer, status_code, title=title, text=text)

    def _gate(self, request: Request) -> tuple[Viewer | None, Response | None]:
        """The viewer, or the answer for a request that may not read the pages."""
        if not self.auth.enabled and not self.auth.public:
            text = (
                "Run pages are disabled: set FIXLOOP_API_TOKEN, [server] page_users or [server] trusted_user_header "
                "on the server (or [server] pages_public = true)."
            )
            return None, self._message(request, None, "Pages disabled", text, 403)
        viewer = self.auth.viewer(request)
        if viewer is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return None, RedirectResponse(f"/signin?{urlencode({'next': target})}", status_code=303)
        return viewer, None

    async def _html_gate(
        self, request: Request, api: Callable[[Request], Awaitable[Response]]
    ) -> tuple[Viewer | None, Response | None]:
        """The API's JSON answer for a client that does not want HTML; else the viewer, or ``_gate``'s answer."""
        if not wants_html(request):
            return None, await api(request)
        return self._gate(request)

    def _thread(self, request: Request) -> str:
        return check_word(str(request.path_params["thread"]), "thread id")

    async def _run(self, thread_id: str) -> dict[str, Any]:
        return await anyio.to_thread.run_sync(self.ops.runner.status, thread_id)

    # ------------------------------------------------------------ sign-in

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/runs", status_code=303)

    async def signin_form(self, request: Request) -> Response:
        return self._page(request, "signin.html.j2", self.auth.viewer(request), next=_safe_next(request), error="")

    async def signin(self, request: Request) -> Response:
        try:
            form = await _form(request)
        except UsageError as exc:
            return self._message(request, None, "Bad request", exc.one_line(), 400)
        target = _safe_next_value(form.get("next", ""))
        viewer = self.auth.sign_in(form.get("token", "")[:500])
        if viewer is None:
            return self._page(request, "signin.html.j2", None, 401, next=target, error="That token signs nobody in.")
        response = RedirectResponse(target, status_code=303)
        secure = request.url.scheme == "https" or self.auth.server.public_url.startswith("https://")
        response.set_cookie(
            COOKIE, self.auth.cookie(viewer), max_age=SESSION_SECONDS, httponly=True, samesite="strict", secure=secure
        )
        return response

    async def signout(self, request: Request) -> Response:
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    # ------------------------------------------------------------ reading

    async def list_runs(self, request: Request) -> Response:
        viewer, answer = await self._html_gate(request, self.api.list_runs)
        if answer:
            return answer
        try:
            query = ListQuery.from_params(request.query_params)
            runs = await anyio.to_thread.run_sync(self.ops.runner.list)
        except UsageError as exc:
            return self._message(request, viewer, "Bad filter", exc.one_line(), 400)
        except FixloopError as exc:
            return self._message(request, viewer, "Runs not available", exc.one_line(), 503)
        return self._page(request, "list.html.j2", viewer, listing=list_page(runs, query), query=query)

    async def run_page(self, request: Request) -> Response:
        viewer, answer = await self._html_gate(request, self.api.run_json)
        if answer:
            return answer
        try:
            thread_id = self._thread(request)
            doc = await self._run(thread_id)
        except RunNotFoundError as exc:
            return self._message(request, viewer, "No such run", exc.one_line(), 404)
        except UsageError as exc:
            return self._message(request, viewer, "Bad run id", exc.one_line(), 400)
        except FixloopError as exc:
            return self._message(request, viewer, "Run not available", exc.one_line(), 503)
        out_dir = Path(str(doc["out_dir"])) if doc.get("out_dir") else None
        verdict = read_verdict(out_dir) if out_dir is not None else None
        files = {name: out_dir is not None and (out_dir / name).is_file() for name in ("worklog.md", "run.json")}
        return self._page(
            request,
            "run.html.j2",
            viewer,
            run=run_view(doc),
            verdict=verdict,
            files=files,
            notices=self.notices.of(thread_id),
            print=fingerprint(doc, self.notices.of(thread_id)),
        )

    async def live(self, request: Request) -> Response:
        viewer, refusal = self._gate(request)
        if refusal or viewer is None:
            return refusal or Response(status_code=401)
        try:
            thread_id = self._thread(request)
        except UsageError as exc:
            return Response(exc.one_line(), status_code=400)
        since = request.query_params.get("since", "")[:64]
        stream = page_events(
            self.ops.runner,
            thread_id,
            notices=lambda: self.notices.of(thread_id),
            interval=self.ops.options.poll_interval,
            since=since,
        )
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream, media_type="text/event-stream", headers=headers)

    async def download(self, request: Request) -> Response:
        viewer, refusal = self._gate(request)
        if refusal:
            return refusal
        name = request.url.path.rsplit("/", 1)[-1]
        try:
            thread_id = self._thread(request)
            doc = await self._run(thread_id)
        except RunNotFoundError as exc:
            return self._message(request, viewer, "No such run", exc.one_line(), 404)
        except FixloopError as exc:
            return self._message(request, viewer, "Not available", exc.one_line(), 400)
        path = Path(str(doc.get("out_dir") or "")) / name if doc.get("out_dir") else None
        if path is None or not path.is_file():
            if name == "run.json":  # the record as the server reads it, when its file is on another machine
                body = json.dumps(doc, indent=2, default=str)
                return Response(body, media_type="application/json", headers=_attachment(thread_id, name))
            return self._message(
                request, viewer, "No worklog here", f"run {thread_id} has no {name} on this server", 404
            )
        media = "text/markdown; charset=utf-8" if name.endswith(".md") else "application/json"
        return FileResponse(path, media_type=media, headers=_attachment(thread_id, name))

    # ------------------------------------------------------------ acting

    async def act(self, request: Request) -> Response:
        viewer, refusal = self._gate(request)
        if refusal or viewer is None:
            return refusal or Response(status_code=401)
        action = str(request.path_params["action"])
        if action not in ("approve", "reject", "stop"):
            return self._message(request, viewer, "Unknown action", f"{action[:40]!r} is not an action", 404)
        try:
            thread_id = self._thread(request)
            form = await _form(request)
        except UsageError as exc:
            return self._message(request, viewer, "Bad request", exc.one_line(), 400)
        why_not = self.auth.check_post(request, viewer, form.get("csrf", ""))
        if why_not:
            return self._message(request, viewer, "Not allowed", why_not, 403)
        by = viewer.name
        try:
            if action == "stop":
                answer = await anyio.to_thread.run_sync(lambda: self.ops.stop(thread_id, by=by))
                self.notices.add(thread_id, answer.replace(":octagonal_sign: ", ""))
            else:
                reason = check_text(form.get("reason", ""), limit=MAX_REASON) if action == "reject" else ""
                if action == "reject" and not reason:
                    raise UsageError("a rejection needs a reason: it goes back to the fixer")
                heads = tuple(h for h in form.get("heads", "").split() if h) or None if action == "approve" else None
                self.ops.workers.runs.submit(
                    self.ops.decide_job,
                    thread_id,
                    by=by,
                    source="page",
                    decision=action,
                    reason=reason,
                    heads=heads,
                    on_refused=lambda message: self.notices.add(thread_id, _plain(message)),
                    on_done=lambda run: self.notices.add(
                        thread_id, f"{action} by {by} done: the run is {run.get('status', '?')}"
                    ),
                )
                self.notices.add(thread_id, f"{action} by {by} submitted (from this page); the page follows the run")
        except UsageError as exc:
            return self._message(request, viewer, "Not done", exc.one_line(), 400)
        except BusyError:
            return self._message(request, viewer, "Busy", "the server's run queue is full: try again shortly", 503)
        return RedirectResponse(f"/runs/{quote(thread_id)}#actions", status_code=303)


def _plain(message: str) -> str:
    """A chat message without its emoji code (``:no_entry: approve by bob refused...``)."""
    return message.split(" ", 1)[1] if message.startswith(":") and " " in message else message


def _attachment(thread_id: str, name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{thread_id}-{name}"', "Cache-Control": "no-store"}


async def _form(request: Request) -> dict[str, str]:
    """A small urlencoded form (first value of each field); anything else is refused with a clear error."""
    try:
        text = utf8(await read_capped(request, FORM_MAX_BODY))
    except BadBody as exc:
        raise UsageError(f"the form could not be read: {exc.reason}") from None
    return {key: values[0] for key, values in parse_qs(text, keep_blank_values=True).items()}


def _safe_next_value(value: str) -> str:
    """Only a path on this server (never ``//host`` or a URL): no open redirect from the sign-in form."""
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/runs"


def _safe_next(request: Request) -> str:
    return _safe_next_value(request.query_params.get("next", "/runs"))
