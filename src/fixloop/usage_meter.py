"""Attribute model usage to the part of the run that caused it (e.g. one category's investigation).

Parallel investigations share one model client and its run-wide counters, so the difference of those
counters around a call would mix branches. Instead the client reports every call and its tokens to the
meters open in the *current context* (``contextvars``): a node opens ``metered()`` around its agent
call, and each branch's thread sees only its own meters.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from fixloop.records import UsageRecord


@dataclass
class Meter:
    """The usage counted so far by one ``metered()`` block."""

    usage: UsageRecord = field(default_factory=UsageRecord)


_OPEN: ContextVar[tuple[Meter, ...]] = ContextVar("fixloop_usage_meters", default=())


@contextmanager
def metered() -> Iterator[Meter]:
    """Count the model usage of the block in ``meter.usage``; read it after the block (also when the
    block raised: the calls made before the error were paid for)."""
    meter = Meter()
    token = _OPEN.set((*_OPEN.get(), meter))
    try:
        yield meter
    finally:
        _OPEN.reset(token)


def charge(*, calls: int = 0, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
    """Called by the model client for every call and every reply's token counts."""
    for meter in _OPEN.get():
        meter.usage = meter.usage.plus(calls, prompt_tokens, completion_tokens)
