"""Mask secrets before any text leaves fixloop (prompts, PRs, comments, Slack, worklog)."""

from __future__ import annotations

from collections.abc import Mapping

from fixloop.errors import NotReadyError


class Redactor:
    """Masks JWTs, bearer tokens, API keys, URL passwords, secret env values, configured names."""

    def __init__(self, *, env: Mapping[str, str] | None = None, secret_env_names: list[str] | None = None) -> None:
        raise NotReadyError("redaction lands with issue #4")

    def redact(self, text: str) -> str:
        raise NotReadyError("redaction lands with issue #4")
