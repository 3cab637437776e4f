"""The HTTP + WebSocket server: /health, the HTTP API, and the authenticated chat socket /ws."""

from __future__ import annotations

import asyncio
import http
import json
import logging
import os
import signal
import sys
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from chatbackend import agent, api, auth, config, logs, schema

HEALTH_PATH = "/health"
WS_PATH = "/ws"
TOKEN_QUERY_PARAM = "token"
TEST_ID_HEADER = "X-E2E-Test"  # set by the e2e suite so that logs can be matched to tests
INTERNAL_ERROR_CLOSE = 1011
SHUTDOWN_GRACE_SECONDS = 1.0


@dataclass(frozen=True)
class Session:
    """Who is on an accepted WebSocket connection."""

    user: str
    connection_id: str
    test_id: str | None


_session: ContextVar[Session | None] = ContextVar("session", default=None)


def json_response(status: int, body: dict[str, Any]) -> Response:
    payload = json.dumps(body).encode()
    phrase = http.HTTPStatus(status).phrase
    headers = Headers({"Content-Type": "application/json", "Content-Length": str(len(payload))})
    return Response(status, phrase, headers, payload)


def open_session(claims: dict[str, Any], test_id: str | None) -> Session:
    """The session of a verified connection."""
    return Session(user=str(claims["sub"]), connection_id=uuid.uuid4().hex[:12], test_id=test_id)


class ChatServer:
    def __init__(self, cfg: config.Config) -> None:
        self.config = cfg

    # ------------------------------------------------------------ HTTP and the opening handshake

    async def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        logs.new_trace()
        url = urlsplit(request.path)
        test_id = request.headers.get(TEST_ID_HEADER)
        try:
            response = self.route(url.path, url.query, request, test_id)
        except Exception:
            logs.log(logging.ERROR, f"unhandled error for {url.path}", exc_info=True, path=url.path, test=test_id)
            response = json_response(500, {"error": "internal server error"})
        status = 101 if response is None else response.status_code
        level = logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
        logs.log(level, f"GET {url.path} -> {status}", path=url.path, status=status, test=test_id)
        return response

    def route(self, path: str, query: str, request: Request, test_id: str | None) -> Response | None:
        if path == HEALTH_PATH:
            return json_response(
                200, {"status": "ok", "service": self.config.service_name, "revision": self.config.revision}
            )
        if path in api.ROUTES:
            status, body = api.handle(path, request.headers.get("Authorization"), self.config.jwt_secret)
            return json_response(status, body)
        if path != WS_PATH:
            return json_response(404, {"error": f"no route for {path}"})
        return self.authorize(request, query, test_id)

    def authorize(self, request: Request, query: str, test_id: str | None) -> Response | None:
        """Verify the JWT of a WebSocket handshake; None accepts the connection."""
        token = auth.bearer_token(request.headers.get("Authorization"))
        if token is None:
            token = next(iter(parse_qs(query).get(TOKEN_QUERY_PARAM, [])), None)
        if not token:
            return json_response(401, {"error": "missing token"})
        try:
            claims = auth.verify_token(token, self.config.jwt_secret)
        except auth.AuthError as exc:
            logs.log(logging.WARNING, f"websocket auth refused: {exc}", status=exc.status, test=test_id)
            return json_response(exc.status, {"error": str(exc)})
        _session.set(open_session(claims, test_id))
        return None

    # ------------------------------------------------------------ WebSocket

    async def handle_connection(self, websocket: ServerConnection) -> None:
        session = _session.get()
        if session is None:  # cannot happen: the handshake only accepts after authorize()
            await websocket.close(INTERNAL_ERROR_CLOSE, "no session")
            return
        fields: dict[str, Any] = {"user": session.user, "connection_id": session.connection_id, "test": session.test_id}
        logs.log(logging.INFO, "websocket connected", **fields)
        try:
            async for raw in websocket:
                await self.handle_message(websocket, raw, fields)
        except ConnectionClosed:
            pass
        except Exception:
            logs.log(logging.ERROR, "websocket handler failed", exc_info=True, **fields)
            await websocket.close(INTERNAL_ERROR_CLOSE, "internal error")
        finally:
            logs.log(logging.INFO, "websocket closed", close_code=websocket.close_code, **fields)

    async def handle_message(self, websocket: ServerConnection, raw: str | bytes, fields: dict[str, Any]) -> None:
        try:
            message = schema.parse_client_message(raw)
        except schema.SchemaError as exc:
            logs.log(logging.WARNING, f"bad client message: {exc}", **fields)
            await websocket.send(schema.error_message("bad_message", str(exc)))
            return
        logs.log(logging.INFO, "chat message received", request_id=message.id, **fields)

        async def emit(event: str, run_id: str, data: dict[str, Any]) -> None:
            await websocket.send(schema.server_event(event, run_id, message.id, data))
            logs.log(logging.INFO, f"event {event}", event=event, run_id=run_id, request_id=message.id, **fields)

        await agent.run_agent(
            message.text, emit, model=self.config.agent_model, tool_delay_ms=self.config.tool_delay_ms
        )


async def serve_forever(cfg: config.Config) -> None:
    chat = ChatServer(cfg)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    server = await serve(chat.handle_connection, cfg.host, cfg.port, process_request=chat.process_request)
    logs.log(logging.INFO, f"{cfg.service_name} listening on {cfg.host}:{cfg.port}", port=cfg.port)
    await stop.wait()
    server.close()
    try:
        async with asyncio.timeout(SHUTDOWN_GRACE_SECONDS):
            await server.wait_closed()
    except TimeoutError:
        logs.log(logging.WARNING, f"connections still busy after {SHUTDOWN_GRACE_SECONDS} s; stopping anyway")
    logs.log(logging.INFO, "server stopped")


def main() -> None:
    env = os.environ
    try:
        cfg = config.load_config(env)
    except config.ConfigError as exc:
        logs.setup_logging(config.service_name(env), config.revision(env), env.get(config.LOG_FILE_ENV))
        logs.log(logging.CRITICAL, f"startup failed: {exc}", exc_info=True)
        print(f"chatbackend: startup failed: {exc}", file=sys.stderr)
        sys.exit(2)
    logs.setup_logging(cfg.service_name, cfg.revision, cfg.log_file)
    asyncio.run(serve_forever(cfg))
