"""Probe a chat WebSocket endpoint directly: handshake, auth, the five agent events, concurrency, close codes.

Protocol of the example target: the client sends ``{"type": "chat", "text": ..., "id": ...}``; the
server answers with ``{"type": <event>, "run_id": ..., "data": {...}}`` events. Auth is an HS256
JWT (claims ``sub``, ``iat``, ``exp``) in an ``Authorization: Bearer`` header.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field

import jwt
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from fixloop.errors import UsageError
from fixloop.records import ProbeCheck, ProbeReport

EXPECTED_EVENTS = ("agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed")
PROBE_SUBJECT = "fixloop-probe"
WRONG_SECRET = "fixloop-probe-wrong-secret-" + "x" * 16


def make_token(secret: str, *, subject: str = PROBE_SUBJECT, ttl: int = 300, issuer: str | None = None) -> str:
    """An HS256 JWT with ``sub``, ``iat``, ``nbf``, ``exp`` (and ``iss`` when given)."""
    now = int(time.time())
    claims: dict[str, object] = {"sub": subject, "iat": now, "nbf": now, "exp": now + ttl}
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm="HS256")


def token_from_env_value(value: str, *, issuer: str | None = None) -> str:
    """A ready JWT is used as is; anything else is the HS256 secret to sign one with."""
    return value if value.count(".") == 2 and value.startswith("ey") else make_token(value, issuer=issuer)


@dataclass
class ChatOutcome:
    """What one client saw while chatting."""

    events: list[str] = field(default_factory=list)
    connected: bool = False
    http_status: int | None = None
    close_code: int | None = None
    close_reason: str = ""
    first_event_ms: float | None = None
    total_ms: float | None = None
    ping_ms: float | None = None
    error: str = ""

    def in_order(self) -> bool:
        position = 0
        for event in self.events:
            if position < len(EXPECTED_EVENTS) and event == EXPECTED_EVENTS[position]:
                position += 1
        return position == len(EXPECTED_EVENTS)


def _headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


async def _open(url: str, token: str | None, timeout: float) -> ClientConnection:
    return await connect(url, additional_headers=_headers(token), open_timeout=timeout, close_timeout=timeout)


async def chat_once(
    url: str, token: str | None, *, timeout: float, text: str = "ping", ping: bool = False
) -> ChatOutcome:
    """Connect, (ping,) send one chat message, collect events until agent_completed, close normally."""
    out = ChatOutcome()
    try:
        ws = await _open(url, token, timeout)
    except InvalidStatus as exc:
        out.http_status = exc.response.status_code
        out.error = str(exc)
        return out
    except (InvalidHandshake, OSError, TimeoutError) as exc:
        out.error = f"{type(exc).__name__}: {exc}"
        return out
    out.connected = True
    try:
        if ping:
            out.ping_ms = 1000 * await asyncio.wait_for(await ws.ping(), timeout)
        sent = time.perf_counter()
        await ws.send(json.dumps({"type": "chat", "text": text, "id": str(uuid.uuid4())}))
        async with asyncio.timeout(timeout):
            while EXPECTED_EVENTS[-1] not in out.events:
                message = json.loads(await ws.recv())
                if out.first_event_ms is None:
                    out.first_event_ms = 1000 * (time.perf_counter() - sent)
                out.events.append(str(message.get("type")))
        out.total_ms = 1000 * (time.perf_counter() - sent)
        await ws.close()
    except ConnectionClosed as exc:
        out.error = f"connection closed: {exc}"
    except TimeoutError:
        out.error = f"timed out after {timeout:g} s waiting for events (got {', '.join(out.events) or 'none'})"
    except (json.JSONDecodeError, AttributeError) as exc:
        out.error = f"the server sent a message that is not a JSON object: {exc}"
    finally:
        await ws.close()
        out.close_code = ws.close_code
        out.close_reason = ws.close_reason or ""
    return out


async def _bad_token_rejected(url: str, timeout: float, issuer: str | None) -> ProbeCheck:
    try:
        ws = await _open(url, make_token(WRONG_SECRET, issuer=issuer), timeout)
    except InvalidStatus as exc:
        status = exc.response.status_code
        return ProbeCheck(
            name="auth-rejected",
            ok=status in (401, 403),
            http_status=status,
            detail=f"bad token rejected at handshake with HTTP {status}"
            if status in (401, 403)
            else f"bad token answered with HTTP {status}, expected 401/403",
        )
    except (InvalidHandshake, OSError, TimeoutError) as exc:
        return ProbeCheck(name="auth-rejected", ok=False, detail=f"{type(exc).__name__}: {exc}")
    try:
        await ws.send(json.dumps({"type": "chat", "text": "auth check", "id": str(uuid.uuid4())}))
        async with asyncio.timeout(timeout):
            await ws.recv()
        return ProbeCheck(name="auth-rejected", ok=False, detail="a token signed with a wrong secret was accepted")
    except ConnectionClosed:
        code = ws.close_code
        return ProbeCheck(
            name="auth-rejected", ok=code == 1008, close_code=code, detail=f"bad token: connection closed with {code}"
        )
    except TimeoutError:
        return ProbeCheck(name="auth-rejected", ok=False, detail="bad token: connected, no answer and no close")
    finally:
        await ws.close()


async def probe_ws_async(
    url: str, *, token: str | None, check_auth: bool, clients: int = 3, timeout: float = 10.0, issuer: str | None = None
) -> ProbeReport:
    checks: list[ProbeCheck] = []
    first = await chat_once(url, token, timeout=timeout, ping=True)
    handshake_ok = first.connected
    if first.http_status is not None:
        checks.append(
            ProbeCheck(
                name="handshake",
                ok=False,
                http_status=first.http_status,
                detail=f"server rejected WebSocket connection: HTTP {first.http_status}",
            )
        )
    else:
        checks.append(
            ProbeCheck(
                name="handshake", ok=handshake_ok, detail="101 Switching Protocols" if handshake_ok else first.error
            )
        )
    if check_auth:
        checks.append(await _bad_token_rejected(url, timeout, issuer))
    else:
        checks.append(
            ProbeCheck(name="auth-rejected", ok=False, skipped=True, detail="no JWT secret given: not checked")
        )
    if not handshake_ok:
        report = ProbeReport(url=url, kind="ws", ok=False, checks=checks, events=first.events)
        return report
    got = ", ".join(first.events) or "none"
    checks.append(
        ProbeCheck(
            name="events",
            ok=first.in_order() and not first.error,
            latency_ms=first.total_ms,
            detail=f"received in order: {got}"
            if first.in_order()
            else f"expected {', '.join(EXPECTED_EVENTS)}; got {got}" + (f" ({first.error})" if first.error else ""),
        )
    )
    checks.append(
        ProbeCheck(
            name="close-code",
            ok=first.close_code == 1000,
            close_code=first.close_code,
            detail=f"closed with {first.close_code} {first.close_reason}".strip(),
        )
    )
    outcomes = await asyncio.gather(
        *(chat_once(url, token, timeout=timeout, text=f"client {i}") for i in range(clients))
    )
    good = [o for o in outcomes if o.in_order() and o.close_code == 1000]
    problems = sorted({_problem(o) for o in outcomes if o not in good})
    checks.append(
        ProbeCheck(
            name="concurrency",
            ok=len(good) == clients,
            detail=f"{len(good)}/{clients} concurrent clients got all five events"
            + (f"; {'; '.join(problems)}" if problems else ""),
            http_status=next((o.http_status for o in outcomes if o.http_status), None),
            close_code=next((o.close_code for o in outcomes if o not in good and o.close_code), None),
        )
    )
    latencies = [o.first_event_ms for o in [first, *outcomes] if o.first_event_ms is not None]
    checks.append(
        ProbeCheck(
            name="latency",
            ok=bool(latencies),
            latency_ms=first.ping_ms,
            detail=f"ping {first.ping_ms or 0:.1f} ms; first event after {min(latencies):.1f}-{max(latencies):.1f} ms"
            if latencies
            else "no event received",
        )
    )
    ok = all(c.ok for c in checks if not c.skipped)
    return ProbeReport(url=url, kind="ws", ok=ok, checks=checks, events=first.events)


def _problem(outcome: ChatOutcome) -> str:
    if outcome.error:
        return outcome.error
    if not outcome.in_order():
        return f"events missing or out of order: {', '.join(outcome.events) or 'none'}"
    return f"closed with {outcome.close_code}"


def probe_ws(
    url: str,
    *,
    secret: str | None = None,
    token: str | None = None,
    clients: int = 3,
    timeout: float = 10.0,
    issuer: str | None = None,
) -> ProbeReport:
    """Run every WebSocket check against ``url``; ``secret`` signs tokens, ``token`` is used as is.

    The bad-token check always runs: a token signed with a wrong secret must be refused.
    """
    if not url.startswith(("ws://", "wss://")):
        raise UsageError(f"{url!r} is not a WebSocket URL", hint="use ws://HOST:PORT/PATH or wss://...")
    if clients < 1:
        raise UsageError("--clients must be at least 1")
    bearer = token or (make_token(secret, issuer=issuer) if secret else None)
    try:
        return asyncio.run(
            probe_ws_async(url, token=bearer, check_auth=True, clients=clients, timeout=timeout, issuer=issuer)
        )
    except InvalidURI as exc:
        raise UsageError(f"{url!r} is not a valid WebSocket URL: {exc}") from None
