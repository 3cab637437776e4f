"""P5 billing API (HTTP only)."""

from __future__ import annotations

import pytest

from tests.e2e.chat_client import http_get

pytestmark = [pytest.mark.staging, pytest.mark.billing]


def test_billing_summary(http_url: str, auth_headers: dict[str, str]) -> None:
    result = http_get(f"{http_url}/api/billing", auth_headers)
    assert result.status == 200
    assert result.body["currency"] == "USD"
    assert result.body["monthly_amount_cents"] > 0


def test_billing_requires_auth(http_url: str, test_id: dict[str, str]) -> None:
    assert http_get(f"{http_url}/api/billing", test_id).status == 401
