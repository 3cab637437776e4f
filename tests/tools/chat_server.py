"""A tiny real chat WebSocket server on loopback for probe tests, speaking the example target's protocol."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus

import jwt
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

EVENTS = ("agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed")
SECRET = "probe-test-secret-0123456789abcdef"


@dataclass
class ChatServer:
    port: int
    mode: str

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _response(status: int, body: str) -> Response:
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return Response(status, HTTPStatus(status).phrase, headers, body.encode())


def _process_request(mode: str) -> Callable[[ServerConnection, Request], Response | None]:
    def process(connection: ServerConnection, request: Request) -> Response | None:
        if request.path == "/health":
            if mode == "unhealthy":
                return _response(503, json.dumps({"status": "degraded", "revision": "abc1234"}))
            return _response(200, json.dumps({"status": "ok", "revision": "abc1234"}))
        if mode == "handshake-500":
            return _response(500, json.dumps({"error": "internal"}))
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip()
        try:
            jwt.decode(token, SECRET, algorithms=["HS256"])
        except jwt.PyJWTError:
            return _response(401, json.dumps({"error": "unauthorized"}))
        return None

    return process


async def _handler(connection: ServerConnection, mode: str) -> None:
    async for raw in connection:
        message = json.loads(raw)
        run_id = message.get("id", "run")
        for event in EVENTS:
            if mode == "close-1011" and event == "tool_executing":
                await connection.close(1011, "internal error")
                return
            if mode == "out-of-order" and event == "agent_thinking":
                continue
            await connection.send(json.dumps({"type": event, "run_id": run_id, "data": {"text": message.get("text")}}))
            await asyncio.sleep(0.001)


@contextmanager
def running_chat_server(mode: str = "healthy") -> Iterator[ChatServer]:
    """Serve on a free loopback port in a background thread until the block ends."""
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    holder: dict[str, Server] = {}
    stop = asyncio.Event()

    async def main() -> None:
        async with serve(lambda c: _handler(c, mode), "127.0.0.1", 0, process_request=_process_request(mode)) as server:
            holder["server"] = server
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("chat server did not start")
    port = next(iter(holder["server"].sockets)).getsockname()[1]
    try:
        yield ChatServer(port=port, mode=mode)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
