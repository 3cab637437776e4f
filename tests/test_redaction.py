"""Redactor: every common secret format is masked, ordinary text is kept."""

from __future__ import annotations

import pytest

from fixloop.redaction import Redactor, looks_secret_name, shannon_entropy

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTQyIiwiZXhwIjoxNzAwMDAwMDAwfQ.c2lnbmF0dXJlLWNhbmFyeS14eXo"


@pytest.mark.parametrize(
    ("secret", "text"),
    [
        (JWT, f"token={JWT} rejected"),
        ("abcDEF123456ghiJKL", "Authorization: Bearer abcDEF123456ghiJKL"),
        ("sk-proj-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2", "OPENAI key sk-proj-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2 used"),
        ("ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8", "push with ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"),
        ("xoxb-1234567890-abcdefghijkl", "slack xoxb-1234567890-abcdefghijkl"),
        ("AKIAIOSFODNN7EXAMPLE", "aws AKIAIOSFODNN7EXAMPLE"),
        ("AIzaSyA1234567890abcdefghijklmnopqrstuv", "maps AIzaSyA1234567890abcdefghijklmnopqrstuv"),
        ("hunter2pass", "postgresql://app:hunter2pass@db:5432/main"),
        ("pl41nPassw", 'password="pl41nPassw"'),
        ("Q7x9kP2mZ4vR8sT1", "api_key: Q7x9kP2mZ4vR8sT1"),
    ],
)
def test_known_formats_are_masked(secret: str, text: str) -> None:
    out = Redactor(env={}).redact(text)
    assert secret not in out
    assert "[REDACTED:" in out


def test_env_values_of_secret_looking_and_configured_names_are_masked() -> None:
    env = {"CHAT_JWT_SECRET": "canary-secret-value-1", "MY_VAR": "canary-config-2", "HOME": "/home/user"}
    redactor = Redactor(env=env, secret_env_names=["MY_VAR"])
    out = redactor.redact("secret canary-secret-value-1 and canary-config-2 in /home/user")
    assert "canary-secret-value-1" not in out
    assert "canary-config-2" not in out
    assert "/home/user" in out  # HOME is not secret


def test_ordinary_text_is_unchanged() -> None:
    text = (
        "FAILED tests/e2e/test_ws.py::test_event_flow - websockets.exceptions.InvalidStatus: "
        "server rejected WebSocket connection: HTTP 500\nauthor=alice tokens=5 key=value"
    )
    assert Redactor(env={}).redact(text) == text


def test_short_env_values_are_not_masked_everywhere() -> None:
    out = Redactor(env={"API_KEY": "abc"}).redact("abc appears in abcdef")
    assert out == "abc appears in abcdef"


def test_secret_names_and_entropy() -> None:
    assert looks_secret_name("GITHUB_TOKEN")
    assert looks_secret_name("db_password")
    assert not looks_secret_name("PWD")
    assert not looks_secret_name("PATH")
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("Q7x9kP2mZ4vR8sT1") > 3.5


def test_test_ids_are_never_redacted_only_values() -> None:
    redactor = Redactor(env={})
    ids = [
        "tests/test_auth.py::test_token_refresh[expired-3600]",
        "tests/test_auth.py::TestSession::test_token_refresh[token=a8F3kd93Jd02qZ]",
        "tests/test_auth.py:126: AssertionError",
    ]
    for nodeid in ids:
        assert redactor.redact(f"FAILED {nodeid} - boom") == f"FAILED {nodeid} - boom"
    line = "FAILED tests/test_auth.py::test_login - api_key=a8F3kd93Jd02qZx7Lm"
    assert redactor.redact(line) == "FAILED tests/test_auth.py::test_login - api_key=[REDACTED:value]"
