"""Request signatures: GitHub's ``X-Hub-Signature-256`` and Slack's v0 signature, over the raw bytes.

Both are HMAC-SHA256 compared in constant time. Slack's is computed here over the bytes (not with
``slack_sdk``'s verifier, which decodes the body as UTF-8 first and so cannot tell a signed non-UTF-8
body, a 400, from a forged one, a 401); the 5-minute window is Slack's own.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SLACK_WINDOW = 300  # seconds: Slack's replay window, both ways


def github_signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """``sha256=<hex>`` of the body under ``secret``."""
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.encode("utf-8", "replace"))


def slack_signature_ok(
    secret: str, body: bytes, timestamp: str | None, signature: str | None, *, now: float | None = None
) -> bool:
    """``v0=<hex>`` of ``v0:<timestamp>:<body>``, with the timestamp inside Slack's 5-minute window."""
    if not timestamp or not signature or not (timestamp.isascii() and timestamp.strip().isdigit()):
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > SLACK_WINDOW:
        return False
    base = b"v0:" + timestamp.strip().encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))
