"""``GET /runs``, ``GET /runs/{thread}`` (run.json) and ``GET /runs/{thread}/events`` (SSE).

Bearer-token protected (``FIXLOOP_API_TOKEN`` by default); without a token configured
these routes answer 403 to everything.
"""

from __future__ import annotations

import hmac

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from fixloop.errors import FixloopError, RunNotFoundError
from fixloop.server.commands import check_word
from fixloop.server.events import run_events
from fixloop.server.options import ServerOptions
from fixloop.server.responses import disabled, unauthorized
from fixloop.server.runner import Runner
from fixloop.server.secrets import ServerSecrets


class RunsRoutes:
    def __init__(self, runner: Runner, secrets: ServerSecrets, options: ServerOptions) -> None:
        self.runner, self.secrets, self.options = runner, secrets, options

    def routes(self) -> list[Route]:
        return [
            Route("/runs", self.list_runs, methods=["GET"]),
            Route("/runs/{thread}", self.run_json, methods=["GET"]),
            Route("/runs/{thread}/events", self.events, methods=["GET"]),
        ]

    def _refusal(self, request: Request, route: str) -> Response | None:
        token = self.secrets.api_token
        if not token:
            return disabled(route, [self.secrets.names.api_token])
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return unauthorized("missing or wrong bearer token")
        return None

    def _thread(self, request: Request) -> str:
        return check_word(str(request.path_params["thread"]), "thread id")

    async def list_runs(self, request: Request) -> Response:
        refusal = self._refusal(request, "/runs")
        if refusal:
            return refusal
        try:
            runs = await anyio.to_thread.run_sync(self.runner.list)
        except FixloopError as exc:
            return JSONResponse({"error": exc.one_line()}, status_code=503)
        return JSONResponse({"runs": runs})

    async def run_json(self, request: Request) -> Response:
        refusal = self._refusal(request, "/runs/{thread}")
        if refusal:
            return refusal
        try:
            thread = self._thread(request)
            run = await anyio.to_thread.run_sync(self.runner.status, thread)
        except RunNotFoundError as exc:
            return JSONResponse({"error": exc.one_line()}, status_code=404)
        except FixloopError as exc:
            return JSONResponse({"error": exc.one_line()}, status_code=400 if "thread id" in exc.message else 503)
        return JSONResponse(run)

    async def events(self, request: Request) -> Response:
        refusal = self._refusal(request, "/runs/{thread}/events")
        if refusal:
            return refusal
        try:
            thread = self._thread(request)
        except FixloopError as exc:
            return JSONResponse({"error": exc.one_line()}, status_code=400)
        stream = run_events(self.runner, thread, interval=self.options.poll_interval)
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream, media_type="text/event-stream", headers=headers)
