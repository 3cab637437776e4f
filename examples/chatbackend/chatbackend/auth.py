"""HS256 JWT helpers: issue and verify tokens, read a bearer token. The only place auth rules live."""

from __future__ import annotations

import time
from typing import Any

import jwt

ALGORITHM = "HS256"
ISSUER = "chatbackend"
LEEWAY_SECONDS = 30  # tolerated clock skew between clients and the server
DEFAULT_TTL_SECONDS = 300


class AuthError(Exception):
    """A token was refused; ``status`` is the HTTP status to answer with."""

    status = 403


class TokenMissing(AuthError):
    status = 401


class TokenExpired(AuthError):
    status = 401


class TokenNotYetValid(AuthError):
    status = 401


def issue_token(
    secret: str, subject: str, *, ttl_seconds: float = DEFAULT_TTL_SECONDS, now: float | None = None
) -> str:
    """A signed token for ``subject``; ``now`` lets a caller stand in for a client with a skewed clock."""
    issued = int(time.time() if now is None else now)
    claims = {"sub": subject, "iss": ISSUER, "iat": issued, "nbf": issued, "exp": issued + int(ttl_seconds)}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(token: str, secret: str) -> dict[str, Any]:
    """The token's claims, or an ``AuthError`` saying why it is refused."""
    try:
        return jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenExpired("token expired") from None
    except jwt.ImmatureSignatureError:
        raise TokenNotYetValid("token not yet valid (issued in the future)") from None
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"invalid token: {exc}") from None


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
