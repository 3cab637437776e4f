"""Parse and validate what users type: ``/fixloop websockets [repo] [--llm M]`` and thread replies.

Nothing here ever reaches a shell; still, every string is checked so that a bad one gets a
clear refusal instead of travelling further (shell metacharacters, path traversal, huge input).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Literal

from fixloop.errors import UsageError

MAX_TEXT = 300
MAX_REASON = 1000
_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,99}(/[A-Za-z0-9][A-Za-z0-9._\-]{0,99})?$")
_SHELL_META = set(";&|`$<>(){}[]*?!~'\"\\\n\r\t")

USAGE = "usage: /fixloop <focus> [repo] [--llm none|scripted|openai] [--scenario NAME]"
COMMAND_WORDS = frozenset({"status", "help", "approve", "reject", "stop", "why"})  # never a focus
_SHA = re.compile(r"^[0-9a-fA-F]{7,40}$")


@dataclass(frozen=True)
class StartCommand:
    focus: str
    repo: str | None = None
    llm: str | None = None
    scenario: str | None = None


ReplyVerb = Literal["status", "why", "approve", "reject", "stop", "help"]


@dataclass(frozen=True)
class ReplyCommand:
    verb: ReplyVerb
    argument: str = ""


def check_text(text: str, *, limit: int = MAX_TEXT) -> str:
    """Reject input that is too long or holds control characters; return it stripped."""
    if len(text) > limit:
        raise UsageError(f"input too long ({len(text)} characters, at most {limit})")
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise UsageError("input holds control characters")
    return text.strip()


def check_word(value: str, what: str) -> str:
    """A focus, scenario or mode: letters, digits, ``._-`` only, no path, no shell syntax."""
    bad = sorted({c for c in value if c in _SHELL_META})
    if bad:
        raise UsageError(f"{what} {value[:40]!r} holds characters that are not allowed: {' '.join(bad)}")
    if ".." in value or "/" in value:
        raise UsageError(f"{what} {value[:40]!r} looks like a path; give a plain name")
    if not _WORD.match(value):
        raise UsageError(f"{what} {value[:40]!r} is not a plain name (letters, digits, . _ -; at most 64)")
    return value


def check_repo_name(value: str) -> str:
    bad = sorted({c for c in value if c in _SHELL_META})
    if bad:
        raise UsageError(f"repo {value[:40]!r} holds characters that are not allowed: {' '.join(bad)}")
    if ".." in value or value.startswith("/"):
        raise UsageError(f"repo {value[:40]!r} looks like a path; give the name of an allowed repo")
    if not _REPO.match(value):
        raise UsageError(f"repo {value[:40]!r} is not a repo name (name or owner/name)")
    return value


def _split(text: str) -> list[str]:
    bad = sorted({c for c in text if c in _SHELL_META - {"'", '"', "\n", "\t"}})
    if bad:
        raise UsageError(f"characters not allowed in a command: {' '.join(bad)}")
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"cannot read the command: {exc}") from None


def parse_start(text: str) -> StartCommand:
    """``websockets [repo] [--llm M] [--scenario S]`` -> a validated ``StartCommand``."""
    words = _split(check_text(text))
    if not words:
        raise UsageError("no focus given", hint=USAGE)
    options: dict[str, str] = {}
    positional: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("--"):
            key, eq, value = word[2:].partition("=")
            if key not in ("llm", "scenario"):
                raise UsageError(f"unknown option --{key[:20]}", hint=USAGE)
            if not eq:
                if i + 1 >= len(words):
                    raise UsageError(f"--{key} needs a value", hint=USAGE)
                i += 1
                value = words[i]
            options[key] = check_word(value, key)
        else:
            positional.append(word)
        i += 1
    if len(positional) > 2:
        raise UsageError("too many words", hint=USAGE)
    focus = check_word(positional[0], "focus")
    if focus.casefold() in COMMAND_WORDS:
        raise UsageError(f"{focus!r} is a command, not a focus", hint=USAGE)
    repo = check_repo_name(positional[1]) if len(positional) > 1 else None
    return StartCommand(focus=focus, repo=repo, llm=options.get("llm"), scenario=options.get("scenario"))


def command_word(text: str) -> str | None:
    """The command a chat text starts with (``status``, ``help``, ``approve``...), lower-cased, if any."""
    first = text.strip().split(maxsplit=1)
    word = first[0].casefold() if first else ""
    return word if word in COMMAND_WORDS else None


def parse_heads(text: str) -> tuple[str, ...]:
    """The commits an approval names: ``approve <sha> [<sha>...]``, each 7 to 40 hex digits."""
    words = check_text(text).split()
    bad = [w for w in words if not _SHA.match(w)]
    if bad:
        raise UsageError(f"{bad[0][:40]!r} is not a commit sha (7 to 40 hex digits)")
    if len(words) > 20:
        raise UsageError("too many commits named")
    return tuple(w.lower() for w in words)


_MENTION = re.compile(r"<@[A-Z0-9]+(\|[^>]*)?>")


def parse_reply(text: str) -> ReplyCommand:
    """A thread reply to the bot: ``status``, ``why <category>``, ``approve [<sha>...]``, ``reject <reason>``,
    ``stop``."""
    cleaned = _MENTION.sub(" ", check_text(text, limit=MAX_REASON + 100)).strip()
    verb, _, rest = cleaned.partition(" ")
    verb = verb.lower().strip()
    rest = rest.strip()
    if verb == "status":
        return ReplyCommand(verb="status")
    if verb == "stop":
        return ReplyCommand(verb="stop")
    if verb == "approve":  # names the PR head commit(s) it approves; none: answered with them to confirm
        return ReplyCommand(verb="approve", argument=" ".join(parse_heads(rest)))
    if verb == "why":
        if not rest:
            raise UsageError("why needs a category id, e.g. `why server-error-1`")
        return ReplyCommand(verb="why", argument=check_word(rest.split()[0], "category"))
    if verb == "reject":
        if not rest:
            raise UsageError("reject needs a reason, e.g. `reject the patch hides the error`")
        return ReplyCommand(verb="reject", argument=check_text(rest, limit=MAX_REASON))
    return ReplyCommand(verb="help")
