"""Approval buttons the server signs: a click is honoured only on the message it was posted with.

A button's value is ``<thread id>|<pr>:<head>,...|<mac>``, the MAC an HMAC-SHA256 (key: the server's
``FIXLOOP_BUTTON_KEY``) over the run id, the PRs and their head commits, and the channel and ts of
the message carrying the button. A click whose value was copied from another message, edited, or
names another run fails the check; the heads it names are then the ones the approval binds to.

The *Five whys* button is signed too (another domain, so neither MAC stands for the other): its value is
``<thread id>|<category>|<mac>`` over the run id, the category, and the channel and ts of the run's
Slack thread (the parent message, known before the progress item is posted: no extra update call). A
value forged, edited, or carried to another run's thread is refused before anything is read or posted.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from fixloop.errors import ApprovalError

_DOMAIN = "fixloop-button-v1"
_WHY_DOMAIN = "fixloop-why-button-v1"


@dataclass(frozen=True)
class ButtonClaim:
    """What a verified button approves: the run and each PR at the head commit shown."""

    thread_id: str
    heads: tuple[tuple[int, str], ...]

    @property
    def shas(self) -> tuple[str, ...]:
        return tuple(sha for _, sha in self.heads)


def _heads_text(heads: Mapping[int, str] | tuple[tuple[int, str], ...]) -> str:
    pairs = sorted(heads.items()) if isinstance(heads, Mapping) else sorted(heads)
    return ",".join(f"{number}:{sha}" for number, sha in pairs)


class ButtonSigner:
    def __init__(self, key: str) -> None:
        if not key:
            raise ValueError("a button key is needed")
        self._key = key.encode()

    def _mac(self, thread_id: str, heads_text: str, channel: str, message_ts: str, *, domain: str = _DOMAIN) -> str:
        message = "\n".join((domain, thread_id, heads_text, channel, message_ts)).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def why_value(self, thread_id: str, category: str, *, channel: str, thread_ts: str) -> str:
        """The value of a *Five whys* button posted in the run's thread ``channel``/``thread_ts``."""
        return f"{thread_id}|{category}|{self._mac(thread_id, category, channel, thread_ts, domain=_WHY_DOMAIN)}"

    def verify_why(self, value: str, *, channel: str, thread_ts: str) -> tuple[str, str]:
        """(run id, category) of a *Five whys* click in ``channel``/``thread_ts``; ApprovalError unless signed
        by this server for that run's thread."""
        thread_id, _, rest = value.partition("|")
        category, _, mac = rest.partition("|")
        expected = self._mac(thread_id, category, channel, thread_ts, domain=_WHY_DOMAIN)
        if not (
            thread_id and category and mac and hmac.compare_digest(expected.encode(), mac.encode("utf-8", "replace"))
        ):
            raise ApprovalError("this button was not issued by fixloop for this thread: nothing was posted")
        return thread_id, category

    def value(self, thread_id: str, heads: Mapping[int, str], *, channel: str, message_ts: str) -> str:
        text = _heads_text(heads)
        return f"{thread_id}|{text}|{self._mac(thread_id, text, channel, message_ts)}"

    def verify(self, value: str, *, channel: str, message_ts: str) -> ButtonClaim:
        """The claim of a button clicked on ``channel``/``message_ts``; ApprovalError unless the server signed
        exactly this value for exactly that message."""
        thread_id, _, rest = value.partition("|")
        heads_text, _, mac = rest.partition("|")
        expected = self._mac(thread_id, heads_text, channel, message_ts)
        if not (thread_id and mac and hmac.compare_digest(expected.encode(), mac.encode("utf-8", "replace"))):
            raise ApprovalError("this button was not issued by fixloop for this message: nothing was decided")
        heads: list[tuple[int, str]] = []
        for pair in filter(None, heads_text.split(",")):
            number, _, sha = pair.partition(":")
            heads.append((int(number), sha))  # signed by us: well formed
        return ButtonClaim(thread_id, tuple(heads))
