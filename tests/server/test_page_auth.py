"""Page sign-in: tokens by hash, signed cookies, the trusted header only when configured, CSRF bound to a sign-in."""

from __future__ import annotations

from starlette.requests import Request

from fixloop.config import ServerSettings
from fixloop.server.page_auth import COOKIE, PageAuth, Viewer, token_hash


def request(headers: dict[str, str] | None = None, cookie: str = "") -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if cookie:
        raw.append((b"cookie", f"{COOKIE}={cookie}".encode()))
    return Request({"type": "http", "method": "GET", "path": "/runs", "headers": raw, "query_string": b""})


def auth(**server: object) -> PageAuth:
    settings = ServerSettings(page_users={"alice": token_hash("alice-token")}, **server)  # type: ignore[arg-type]
    return PageAuth(settings, api_token="api-token", key="k" * 32)


def test_a_page_token_signs_in_its_user_and_the_cookie_round_trips() -> None:
    pages = auth()
    viewer = pages.sign_in("alice-token")
    assert viewer is not None and viewer.name == "alice" and viewer.can_act
    assert pages.viewer(request(cookie=pages.cookie(viewer))) == viewer
    assert pages.sign_in("wrong") is None and pages.sign_in("") is None


def test_the_api_token_reads_but_cannot_act() -> None:
    pages = auth()
    viewer = pages.sign_in("api-token")
    assert viewer is not None and viewer.kind == "api" and not viewer.can_act
    bearer = pages.viewer(request({"Authorization": "Bearer api-token"}))
    assert bearer is not None and not bearer.can_act
    assert pages.viewer(request({"Authorization": "Bearer nope"})) is None


def test_a_forged_or_expired_cookie_is_nobody() -> None:
    pages = auth()
    good = pages.cookie(Viewer("alice", "user", "abc"))
    body, _, sig = good.partition(".")
    assert pages.viewer(request(cookie=f"{body}.{sig[:-2]}xx")) is None
    other = PageAuth(ServerSettings(page_users={"alice": token_hash("x")}), api_token=None, key="other-key")
    assert pages.viewer(request(cookie=other.cookie(Viewer("alice", "user", "abc")))) is None
    assert pages.viewer(request(cookie=pages.cookie(Viewer("alice", "user", "abc"), now=0))) is None
    assert pages.viewer(request(cookie="garbage")) is None


def test_a_user_removed_from_page_users_is_signed_out() -> None:
    cookie = auth().cookie(Viewer("mallory", "user", "abc"))
    assert auth().viewer(request(cookie=cookie)) is None


def test_the_trusted_header_counts_only_when_configured() -> None:
    assert auth().viewer(request({"X-Forwarded-User": "alice"})) is None
    viewer = auth(trusted_user_header="X-Forwarded-User").viewer(request({"X-Forwarded-User": "alice"}))
    assert viewer == Viewer("alice", "header") and viewer.can_act


def test_public_pages_read_only() -> None:
    viewer = auth(pages_public=True).viewer(request())
    assert viewer is not None and viewer.kind == "public" and not viewer.can_act
    assert auth().viewer(request()) is None


def test_csrf_is_bound_to_the_sign_in_and_the_origin() -> None:
    pages = auth()
    alice = Viewer("alice", "user", "s1")
    token = pages.csrf_token(alice)
    assert pages.check_post(request({"Host": "h:1"}), alice, token) is None
    assert "CSRF" in (pages.check_post(request(), alice, "") or "")
    assert "CSRF" in (pages.check_post(request(), Viewer("alice", "user", "s2"), token) or "")
    assert "another site" in (pages.check_post(request({"Host": "h:1", "Origin": "http://evil"}), alice, token) or "")
    assert "read-only" in (pages.check_post(request(), Viewer("api token", "api"), token) or "")


def test_page_users_hold_hashes_not_tokens() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="SHA-256"):
        ServerSettings(page_users={"alice": "alice-token"})
    assert ServerSettings(page_users={"a": "sha256:" + "A" * 64}).page_users == {"a": "a" * 64}
