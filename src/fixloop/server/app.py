"""The ASGI app of ``fixloop serve`` (Starlette): Slack, GitHub, runs and live events.

``create_app`` composes everything from settings, options and env secrets; tests pass
their own ``runner`` (anything shaped like ``fixloop.runs``). Importing this module
loads no agent stack: ``fixloop.runs`` is imported by the workers when they need it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fixloop import __version__
from fixloop.config import Settings
from fixloop.integrations.github_bot import IssueBot
from fixloop.integrations.slack.thread import SlackPoster
from fixloop.server.buttons import ButtonSigner
from fixloop.server.chatops import ChatOps
from fixloop.server.github_routes import GithubRoutes
from fixloop.server.options import ServerOptions
from fixloop.server.page_auth import PageAuth
from fixloop.server.pages import Pages
from fixloop.server.redact import build_redactor
from fixloop.server.runner import Runner, RunsRunner
from fixloop.server.runs_routes import RunsRoutes
from fixloop.server.secrets import ServerSecrets
from fixloop.server.slack_routes import SlackRoutes
from fixloop.server.store import ServerStore
from fixloop.server.workers import Workers

log = logging.getLogger("fixloop.server")


def create_app(
    settings: Settings,
    *,
    runner: Runner | None = None,
    options: ServerOptions | None = None,
    secrets: ServerSecrets | None = None,
    store: ServerStore | None = None,
) -> Starlette:
    """Build the app; routes whose secrets are missing are disabled (403), and say so in the log."""
    options = options or ServerOptions()
    if not options.public_url and settings.server.public_url:
        options.public_url = settings.server.public_url  # [server] public_url: the run pages' links
    secrets = secrets or ServerSecrets.from_env()
    store = store or ServerStore(options.checkpointer)
    runner = runner or RunsRunner(options.checkpointer)
    redact = build_redactor(settings, secrets)
    workers = Workers(
        run_workers=options.run_workers, chat_workers=options.chat_workers, max_pending=options.max_pending
    )
    slack = (
        SlackPoster(secrets.slack_bot_token, base_url=options.slack_api_url, redact=redact)
        if secrets.slack_enabled and secrets.slack_bot_token
        else None
    )
    github = (
        IssueBot(
            secrets.github_token,
            base_url=options.github_api_url,
            redact=redact,
            seconds_between_writes=options.github_write_interval,
        )
        if secrets.github_enabled and secrets.github_token
        else None
    )
    ops = ChatOps(
        runner=runner,
        store=store,
        workers=workers,
        options=options,
        settings=settings,
        slack=slack,
        github=github,
        buttons=ButtonSigner(secrets.button_key) if secrets.button_key else None,
    )
    slack_routes = SlackRoutes(ops, secrets, options)
    disabled = secrets.disabled_routes()
    for line in disabled:
        log.warning(line)

    async def healthz(request: Request) -> Response:
        return JSONResponse(
            {"ok": True, "version": __version__, "disabled_routes": len(disabled), "workers": workers.stats()}
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if slack is not None and slack_routes.bot_user_id is None:
            import anyio

            slack_routes.bot_user_id = await anyio.to_thread.run_sync(slack.bot_user_id)
        yield
        workers.shutdown(wait=False)

    routes = [Route("/healthz", healthz, methods=["GET"])]
    routes += slack_routes.routes()
    routes += GithubRoutes(ops, secrets, options).routes()
    runs_api = RunsRoutes(runner, secrets, options)
    auth = PageAuth(settings.server, api_token=secrets.api_token, key=secrets.button_key or secrets.api_token)
    if not auth.enabled and not auth.public:
        log.warning("run pages DISABLED: set FIXLOOP_API_TOKEN or [server] page_users (or trusted_user_header)")
    routes += Pages(ops, auth, runs_api).routes()  # before the API: /runs answers a browser with HTML
    routes += runs_api.routes()
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.ops = ops
    app.state.workers = workers
    app.state.store = store
    app.state.disabled_routes = disabled
    return app
