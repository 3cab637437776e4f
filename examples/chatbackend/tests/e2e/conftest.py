"""Fixtures of the e2e suite: where the target runs and how to authenticate against it.

Required env vars: CHAT_HTTP_URL (e.g. http://127.0.0.1:8765), CHAT_WS_URL (e.g. ws://127.0.0.1:8765/ws),
CHAT_JWT_SECRET (the HS256 secret the target verifies tokens with).
"""

from __future__ import annotations

import os

import pytest

from chatbackend.auth import issue_token
from chatbackend.config import JWT_SECRET_ENV
from chatbackend.server import TEST_ID_HEADER

HTTP_URL_ENV = "CHAT_HTTP_URL"
WS_URL_ENV = "CHAT_WS_URL"
TEST_USER = "e2e-user"


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: start the target (fixloop target up) and export its URLs and secret")
    return value


@pytest.fixture(scope="session")
def http_url() -> str:
    return _required(HTTP_URL_ENV).rstrip("/")


@pytest.fixture(scope="session")
def ws_url() -> str:
    return _required(WS_URL_ENV)


@pytest.fixture(scope="session")
def jwt_secret() -> str:
    return _required(JWT_SECRET_ENV)


@pytest.fixture
def token(jwt_secret: str) -> str:
    return issue_token(jwt_secret, TEST_USER)


@pytest.fixture
def test_id(request: pytest.FixtureRequest) -> dict[str, str]:
    """The header naming the running test, so the target's logs can be matched to it."""
    return {TEST_ID_HEADER: request.node.nodeid}


@pytest.fixture
def auth_headers(token: str, test_id: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **test_id}
