"""P6 user profile API (HTTP only)."""

from __future__ import annotations

import pytest

from chatbackend.auth import issue_token
from tests.e2e.chat_client import http_get

pytestmark = [pytest.mark.staging, pytest.mark.profile]


def test_profile_returns_user(http_url: str, auth_headers: dict[str, str]) -> None:
    result = http_get(f"{http_url}/api/profile", auth_headers)
    assert result.status == 200
    assert result.body["user"] == "e2e-user"


def test_profile_rejects_bad_token(http_url: str, test_id: dict[str, str]) -> None:
    bad = issue_token("wrong-secret-not-known-to-the-server-0001", "e2e-user")
    assert http_get(f"{http_url}/api/profile", {"Authorization": f"Bearer {bad}", **test_id}).status == 403
