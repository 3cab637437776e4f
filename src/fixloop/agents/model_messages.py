"""Messages for the model agents: every text is redacted on its way out, by the caller's redactor or,
when none is given, by one over the process environment (never by nothing)."""

from __future__ import annotations

import os
from collections.abc import Callable

from fixloop.interfaces import ChatMessage
from fixloop.redaction import Redactor

Redact = Callable[[str], str]


def redactor_or_default(redact: Redact | None) -> Redact:
    """``redact``, else a ``Redactor`` over ``os.environ`` (pass the run's own to add configured names)."""
    return redact if redact is not None else Redactor(env=os.environ).redact


def message(role: str, text: str, redact: Redact) -> ChatMessage:
    return ChatMessage(role, redact(text))
