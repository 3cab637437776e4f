"""Reading a webhook's body safely: capped while it streams in, decoded strictly, JSON depth-limited.

Every check here runs before the signature check (a body is only as large as its cap in memory,
whoever sent it) and turns bad input into a ``BadBody`` carrying the 4xx to answer, never a 500.
"""

from __future__ import annotations

from typing import Any

import pydantic_core
from starlette.requests import Request
from starlette.responses import JSONResponse

SLACK_MAX_BODY = 256 * 1024  # slash commands, clicks and events are a few KB; a click carries its message's blocks
GITHUB_MAX_BODY = 1_000_000  # an issue comment event is at most a few hundred KB (comment and issue bodies: 64 KB each)
JSON_MAX_DEPTH = 200  # pydantic-core's own nesting limit; Slack and GitHub payloads nest about a dozen levels


class BadBody(Exception):
    """A body refused before it is trusted: ``status`` (400 or 413) and a one-line reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.reason}, status_code=self.status)


async def read_capped(request: Request, cap: int) -> bytes:
    """The body, or ``BadBody(413)`` as soon as it is known to pass ``cap`` bytes.

    A declared ``Content-Length`` over the cap is refused before a byte is read; a chunked (or
    understated) body is read chunk by chunk and refused at the first byte past the cap, so a
    100 MB request costs at most ``cap`` bytes and one chunk.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.strip().isdigit()):
            raise BadBody(400, "Content-Length is not a number")
        if int(declared) > cap:
            raise BadBody(413, f"payload too large (over {cap} bytes)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise BadBody(413, f"payload too large (over {cap} bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def utf8(body: bytes) -> str:
    """The body as text; a body that is not UTF-8 (whatever its signature) is a 400."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadBody(400, f"body is not UTF-8 (byte {exc.start})") from None


def parse_json(text: str | bytes) -> Any:
    """JSON with a nesting limit (pydantic-core's parser stops at depth ``JSON_MAX_DEPTH``): 400 when too
    deep or not JSON, instead of the standard library's RecursionError."""
    try:
        return pydantic_core.from_json(text)
    except ValueError as exc:
        message = str(exc)
        if "recursion limit" in message:
            raise BadBody(400, f"JSON nested too deeply (at most {JSON_MAX_DEPTH} levels)") from None
        raise BadBody(400, f"body is not JSON: {message.splitlines()[0][:120]}") from None
