"""Who is looking at a run page, and may they act: sign-in for the pages of ``fixloop serve``.

Four ways in, checked in this order:

- a trusted header set by an authenticating proxy (``[server] trusted_user_header``, only when configured:
  the server must then be reachable through that proxy alone); the named user may act;
- a session cookie from the sign-in form: a per-user page token (``[server] page_users``: name -> SHA-256 of
  the token) signs in as that user, who may act; the API token signs in read-only;
- ``Authorization: Bearer <API token>``: read-only (scripts, curl);
- ``[server] pages_public = true``: anyone may read, nobody may act without signing in.

Acting (approve, reject, stop) needs a named user and a CSRF token bound to that sign-in; the approval rules
(approvers, four-eyes) are then applied by ``fixloop.runs`` as for every other face.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from starlette.requests import Request

from fixloop.config import ServerSettings

COOKIE = "fixloop_session"
SESSION_SECONDS = 12 * 3600
ViewerKind = Literal["user", "header", "api", "public"]


def token_hash(token: str) -> str:
    """The SHA-256 (hex) of a page token, as ``[server] page_users`` holds it."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Viewer:
    name: str  # the approver name for "user" and "header"; a label otherwise
    kind: ViewerKind
    issued: str = ""  # the session's id (binds the CSRF token to this sign-in)

    @property
    def can_act(self) -> bool:
        return self.kind in ("user", "header")


class PageAuth:
    """Reads and issues page sessions (HMAC-signed cookies) and CSRF tokens."""

    def __init__(self, server: ServerSettings, *, api_token: str | None, key: str | None) -> None:
        self.server = server
        self.api_token = api_token
        # the signing key: a configured server secret, or one per process (sessions then end on restart)
        self._key = hashlib.sha256(b"fixloop-pages:" + (key or secrets.token_hex(32)).encode()).digest()

    @property
    def enabled(self) -> bool:
        """Pages answer anybody only when some way in exists."""
        return bool(self.api_token or self.server.page_users or self.server.trusted_user_header)

    @property
    def public(self) -> bool:
        return self.server.pages_public

    def _sign(self, data: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._key, data, hashlib.sha256).digest()).decode().rstrip("=")

    # ------------------------------------------------------------ who is it

    def viewer(self, request: Request) -> Viewer | None:
        """The viewer of ``request``; None when it carries no valid sign-in (and the pages are not public)."""
        header = self.server.trusted_user_header
        if header:
            name = request.headers.get(header, "").strip()
            if name:
                return Viewer(name=name[:100], kind="header")
        session = self._read_cookie(request.cookies.get(COOKIE, ""))
        if session is not None:
            return session
        given = request.headers.get("authorization", "")
        if self.api_token and hmac.compare_digest(given.encode(), f"Bearer {self.api_token}".encode()):
            return Viewer(name="api token", kind="api")
        if self.public:
            return Viewer(name="anonymous", kind="public")
        return None

    def sign_in(self, token: str) -> Viewer | None:
        """The viewer a token signs in as: a page user (may act) or, for the API token, a read-only viewer."""
        token = token.strip()
        if not token:
            return None
        digest = token_hash(token)
        for name, expected in self.server.page_users.items():
            if hmac.compare_digest(digest, expected):
                return Viewer(name=name, kind="user", issued=secrets.token_hex(8))
        if self.api_token and hmac.compare_digest(token.encode(), self.api_token.encode()):
            return Viewer(name="api token", kind="api", issued=secrets.token_hex(8))
        return None

    def cookie(self, viewer: Viewer, *, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + SESSION_SECONDS)
        payload = json.dumps({"n": viewer.name, "k": viewer.kind, "i": viewer.issued, "e": expires}).encode()
        body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{body}.{self._sign(payload)}"

    def _read_cookie(self, value: str, *, now: float | None = None) -> Viewer | None:
        body, _, signature = value.partition(".")
        if not body or not signature:
            return None
        try:
            payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            data = json.loads(payload)
        except (ValueError, TypeError):
            return None
        if not hmac.compare_digest(signature, self._sign(payload)) or not isinstance(data, dict):
            return None
        if int(data.get("e", 0)) < (time.time() if now is None else now) or data.get("k") not in ("user", "api"):
            return None
        if data["k"] == "user" and data.get("n") not in self.server.page_users:
            return None  # a user removed from page_users is signed out
        return Viewer(name=str(data.get("n", "")), kind=data["k"], issued=str(data.get("i", "")))

    # ------------------------------------------------------------ CSRF

    def csrf_token(self, viewer: Viewer) -> str:
        return self._sign(f"csrf:{viewer.kind}:{viewer.name}:{viewer.issued}".encode())

    def check_post(self, request: Request, viewer: Viewer, given: str) -> str | None:
        """Why this form POST is refused (None: accepted): a named user, the right CSRF token, our own origin."""
        if not viewer.can_act:
            return "sign in with your own page token to act on a run (the API token and public pages are read-only)"
        if not given or not hmac.compare_digest(given, self.csrf_token(viewer)):
            return "the form is stale or forged (CSRF token missing or wrong): reload the page and try again"
        origin = request.headers.get("origin")
        if origin and origin != "null":
            allowed = {request.headers.get("host", ""), urlsplit(self.server.public_url).netloc}
            if urlsplit(origin).netloc not in allowed:
                return f"the form was posted from another site ({origin[:80]})"
        return None
