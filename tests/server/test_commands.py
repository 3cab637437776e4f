"""What users type is parsed strictly: plain names only, clear refusals otherwise."""

from __future__ import annotations

import pytest

from fixloop.errors import UsageError
from fixloop.server.commands import ReplyCommand, StartCommand, command_word, parse_heads, parse_reply, parse_start


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("websockets", StartCommand("websockets")),
        ("  websockets   chatbackend ", StartCommand("websockets", "chatbackend")),
        ("websockets acme/chat-backend --llm scripted", StartCommand("websockets", "acme/chat-backend", "scripted")),
        ("auth --llm=openai --scenario handshake-500", StartCommand("auth", None, "openai", "handshake-500")),
    ],
)
def test_start_commands_parse(text: str, expected: StartCommand) -> None:
    assert parse_start(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no focus given"),
        ("websockets && reboot", "not allowed"),
        ("websockets `id`", "not allowed"),
        ("$(id)", "not allowed"),
        ("web|sockets", "not allowed"),
        ("../etc", "looks like a path"),
        ("websockets ../../home", "looks like a path"),
        ("websockets /etc/passwd", "looks like a path"),
        ("a" * 65, "not a plain name"),
        ("w" * 301, "too long"),
        ("websockets --llm", "needs a value"),
        ("websockets --shell bash", "unknown option"),
        ("websockets repo extra", "too many words"),
        ("websockets --scenario ../x", "looks like a path"),
        ("web\x00sockets", "control characters"),
        ("-rf", "not a plain name"),
    ],
)
def test_bad_start_commands_are_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        parse_start(text)


def test_thread_replies() -> None:
    assert parse_reply("<@UFIXLOOP> status") == ReplyCommand("status")
    assert parse_reply("<@UFIXLOOP|fixloop> Approve") == ReplyCommand("approve")
    assert parse_reply("<@UFIXLOOP> approve 9F3C2A1B7D6E") == ReplyCommand("approve", "9f3c2a1b7d6e")
    with pytest.raises(UsageError, match="not a commit sha"):
        parse_reply("<@UFIXLOOP> approve it please")
    assert parse_reply("<@UFIXLOOP> why server-error-1") == ReplyCommand("why", "server-error-1")
    assert parse_reply("<@UFIXLOOP> reject it hides the bug; add a test") == ReplyCommand(
        "reject", "it hides the bug; add a test"
    )
    assert parse_reply("<@UFIXLOOP> stop") == ReplyCommand("stop")
    assert parse_reply("<@UFIXLOOP> dance") == ReplyCommand("help")
    with pytest.raises(UsageError, match="needs a reason"):
        parse_reply("<@UFIXLOOP> reject")
    with pytest.raises(UsageError, match="looks like a path"):
        parse_reply("<@UFIXLOOP> why ../../x")
    with pytest.raises(UsageError, match="too long"):
        parse_reply("<@UFIXLOOP> reject " + "x" * 2000)


@pytest.mark.parametrize("word", ["status", "help", "approve", "reject", "stop", "why", "Status", "HELP"])
def test_a_command_word_is_never_a_focus(word: str) -> None:
    with pytest.raises(UsageError, match="is a command, not a focus"):
        parse_start(word)
    assert command_word(f"  {word} extra words") == word.casefold()


def test_an_approval_names_commits_as_hex_shas() -> None:
    assert parse_heads("") == ()
    assert parse_heads(" 9F3C2A1 0123456789abcdef0123456789abcdef01234567 ") == (
        "9f3c2a1",
        "0123456789abcdef0123456789abcdef01234567",
    )
    for bad in ("main", "9f3c2a", "9f3c2a1g", "HEAD~1", "9f3c2a1; rm"):
        with pytest.raises(UsageError):
            parse_heads(bad)
