"""The HTTP API next to the chat: user profile and billing summary (bearer token required)."""

from __future__ import annotations

from typing import Any

from chatbackend import auth

PROFILE_PATH = "/api/profile"
BILLING_PATH = "/api/billing"
ROUTES = (PROFILE_PATH, BILLING_PATH)


def profile(claims: dict[str, Any]) -> dict[str, Any]:
    user = str(claims["sub"])
    return {"user": user, "display_name": user.replace("-", " ").title(), "plan": "pro", "locale": "en"}


def billing(claims: dict[str, Any]) -> dict[str, Any]:
    return {
        "user": str(claims["sub"]),
        "plan": "pro",
        "currency": "USD",
        "monthly_amount_cents": 4900,
        "invoices": [{"id": "inv-0001", "amount_cents": 4900, "status": "paid"}],
    }


def handle(path: str, authorization: str | None, secret: str) -> tuple[int, dict[str, Any]]:
    """Status and JSON body for an API ``path``."""
    token = auth.bearer_token(authorization)
    if token is None:
        return 401, {"error": "missing bearer token"}
    try:
        claims = auth.verify_token(token, secret)
    except auth.AuthError as exc:
        return exc.status, {"error": str(exc)}
    return 200, profile(claims) if path == PROFILE_PATH else billing(claims)
