from __future__ import annotations

from fixloop.tools.focus import group_hits, parse_focus, tokens


def test_websocket_synonyms_form_one_group() -> None:
    for spelling in ("websockets", "websocket", "ws", "wss", "WebSockets"):
        groups = parse_focus(spelling)
        assert [g.name for g in groups] == ["websocket"], spelling
        assert {"websocket", "ws", "wss"} <= groups[0].terms


def test_multi_word_focus_keeps_each_concept_and_drops_filler() -> None:
    groups = parse_focus("websockets auth basics")
    assert [g.name for g in groups] == ["websocket", "auth"]


def test_unknown_word_is_its_own_group_with_its_stem() -> None:
    (group,) = parse_focus("payments")
    assert group.terms == {"payments", "payment"}


def test_short_terms_match_whole_tokens_only() -> None:
    (ws,) = parse_focus("ws")
    assert group_hits(ws, "ws://127.0.0.1:8765/ws")
    assert group_hits(ws, "test_ws_codec")
    assert not group_hits(ws, "news about laws")
    assert group_hits(ws, "class WebSocketManager")  # long term 'websocket' as a substring


def test_tokens_split_camel_case_and_keep_whole_words() -> None:
    assert {"websocketmanager", "web", "socket", "manager"} <= tokens("WebSocketManager")


def test_utf8_names_unicode_tests_and_utf_8_literals() -> None:
    (group,) = parse_focus("utf8")
    assert group.name == "unicode"
    assert group_hits(group, "test_bad_unicode")
    assert group_hits(group, 'payload.decode("utf-8")')
    assert not group_hits(group, "test_stuff_and_utfoo")
