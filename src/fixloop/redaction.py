"""Mask secrets before any text leaves fixloop (prompts, PRs, comments, Slack, worklog).

What is masked, in this order:

1. values of env vars whose names look secret (``SECRET``, ``TOKEN``, ``KEY``, ``PASSWORD``, ...)
   or are configured (``redaction.secret_env_names``), when at least 6 characters long;
2. JWTs (three base64url parts, the first starting ``eyJ``);
3. ``Bearer``/``Basic`` credentials in headers and text;
4. API keys of common formats: OpenAI ``sk-...``, GitHub ``ghp_``/``gho_``/``ghs_``/``github_pat_``,
   Slack ``xox[abposr]-...``, AWS ``AKIA...``, Google ``AIza...``;
5. passwords in URLs (``scheme://user:PASSWORD@host``);
6. high-entropy strings in known places: the value after ``password=``, ``token:``, ``api_key"``,
   ``secret=`` and similar assignments, or after an ``Authorization:`` header.

Each secret becomes ``[REDACTED:<kind>]`` so a reader still sees what was there.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Mapping

SECRET_NAME_PARTS: tuple[str, ...] = (
    "SECRET",
    "TOKEN",
    "KEY",
    "PASSWORD",
    "PASSWD",
    "PWD",
    "CREDENTIAL",
    "AUTH",
    "PRIVATE",
    "COOKIE",
    "DSN",
)
# Names matching a part above that are known to hold no secret.
NOT_SECRET_NAMES: frozenset[str] = frozenset({"PWD", "OLDPWD", "KEYBOARD", "XAUTHORITY", "SSH_AUTH_SOCK"})
MIN_SECRET_VALUE_LEN = 6

_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}")
_BEARER = re.compile(r"\b(Bearer|Basic|Token)\s+([A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)
_API_KEYS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("openai-key", re.compile(r"\bsk-(?:proj-|live-|test-)?[A-Za-z0-9_-]{16,}")),
    ("github-token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})")),
    ("slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("aws-key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("google-key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
)
_URL_PASSWORD = re.compile(r"(?P<prefix>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]+:)(?P<pw>[^\s@/]+)(?=@)")
_ASSIGNMENT = re.compile(
    r"(?P<key>[\"']?\b[\w.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|"
    r"private[_-]?key|authorization|auth|credential|session|cookie)[\w.-]*[\"']?\s*[:=]\s*[\"']?)"
    r"(?P<value>[^\s\"',;&}]{8,})",
    re.IGNORECASE,
)
# A pytest node id ("tests/test_auth.py::test_token_refresh[expired-3600]"): a name, never a value.
_NODE_ID = re.compile(r"[\w./\\-]*\.py(?:::[^\s:\[]+)+(?:\[[^\]\s]*\])?")
HIGH_ENTROPY_BITS = 3.0  # Shannon bits per character above which an assigned value looks random


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text``."""
    if not text:
        return 0.0
    counts = Counter(text)
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def looks_secret_name(name: str) -> bool:
    """True for env var names such as ``CHAT_JWT_SECRET``, ``GITHUB_TOKEN``, ``DB_PASSWORD``."""
    upper = name.upper()
    if upper in NOT_SECRET_NAMES:
        return False
    return any(part in upper for part in SECRET_NAME_PARTS if part != "PWD") or upper.endswith("_PWD")


class Redactor:
    """Masks JWTs, bearer tokens, API keys, URL passwords, secret env values, configured names."""

    def __init__(self, *, env: Mapping[str, str] | None = None, secret_env_names: list[str] | None = None) -> None:
        source = os.environ if env is None else env
        configured = {n.upper() for n in secret_env_names or []}
        values = {
            value
            for name, value in source.items()
            if (name.upper() in configured or looks_secret_name(name)) and len(value) >= MIN_SECRET_VALUE_LEN
        }
        # Longest first so that a value containing another is masked whole.
        ordered = sorted(values, key=len, reverse=True)
        self._env_values = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced by ``[REDACTED:<kind>]``."""
        if not text:
            return text
        if self._env_values is not None:
            text = self._env_values.sub("[REDACTED:env]", text)
        text = _JWT.sub("[REDACTED:jwt]", text)
        text = _BEARER.sub(lambda m: f"{m.group(1)} [REDACTED:token]", text)
        for kind, pattern in _API_KEYS:
            text = pattern.sub(f"[REDACTED:{kind}]", text)
        text = _URL_PASSWORD.sub(lambda m: f"{m.group('prefix')}[REDACTED:password]", text)
        return _mask_assignments(text)


def _mask_assignments(text: str) -> str:
    """Secret-looking assigned values masked everywhere except inside test ids (only values are secrets)."""
    parts: list[str] = []
    last = 0
    for node in _NODE_ID.finditer(text):
        parts += [_ASSIGNMENT.sub(_mask_assignment, text[last : node.start()]), node.group(0)]
        last = node.end()
    parts.append(_ASSIGNMENT.sub(_mask_assignment, text[last:]))
    return "".join(parts)


def _mask_assignment(match: re.Match[str]) -> str:
    value = match.group("value")
    if match.group("key").rstrip(" :=\"'").endswith(".py"):  # "tests/test_auth.py:42: in test_x": a place
        return match.group(0)
    if value.startswith("[REDACTED") or not _is_secret_value(match.group("key"), value):
        return match.group(0)
    return f"{match.group('key')}[REDACTED:value]"


def _is_secret_value(key: str, value: str) -> bool:
    lowered = key.lower()
    if any(word in lowered for word in ("password", "passwd", "pwd")):
        return True  # a password is a secret whatever it looks like
    return shannon_entropy(value) >= HIGH_ENTROPY_BITS and any(c.isdigit() for c in value)
