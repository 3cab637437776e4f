"""Turn a focus text ("websockets auth") into term groups with synonyms, and match them in text."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Each group is one concept; any member matches it. The first member names the group.
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("websocket", "websockets", "ws", "wss", "socket", "socketio"),
    ("auth", "authentication", "authorization", "jwt", "token", "oauth", "login", "bearer"),
    ("agent", "agents", "agentic"),
    ("chat", "message", "messages", "messaging", "conversation"),
    ("health", "healthcheck", "liveness", "readiness"),
    ("event", "events"),
    ("stream", "streaming", "sse"),
    ("database", "db", "postgres", "postgresql", "sql", "sqlite"),
    ("cache", "redis"),
    ("deploy", "deployment", "startup", "lifecycle"),
    ("pipeline", "orchestration", "workflow"),
    ("critical", "golden", "smoke"),
    # "utf8" is no token of "utf-8" (tokens "utf", "8") nor of a test named test_bad_unicode
    ("unicode", "utf8", "utf", "charset"),
)

# Words that carry no focus of their own.
STOP_WORDS = frozenset(
    {"the", "and", "or", "of", "for", "a", "an", "to", "in", "on", "basics", "basic", "tests", "test"}
)

_WORD = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@dataclass(frozen=True)
class TermGroup:
    """One concept of the focus: its name and every spelling that counts as a hit."""

    name: str
    terms: frozenset[str]

    def short_terms(self) -> frozenset[str]:
        """Terms matched only as whole tokens (too short for substring matching)."""
        return frozenset(t for t in self.terms if len(t) < 5)

    def long_terms(self) -> frozenset[str]:
        return frozenset(t for t in self.terms if len(t) >= 5)


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def parse_focus(focus: str) -> list[TermGroup]:
    """Term groups for each word of ``focus``; synonyms join the group of their word."""
    groups: dict[str, TermGroup] = {}
    for word in _WORD.findall(focus.lower()):
        if word in STOP_WORDS:
            continue
        stem = _stem(word)
        known = next((g for g in SYNONYM_GROUPS if word in g or stem in g), None)
        if known is not None:
            groups.setdefault(known[0], TermGroup(known[0], frozenset(known)))
        else:
            groups.setdefault(stem, TermGroup(stem, frozenset({word, stem})))
    return list(groups.values())


def tokens(text: str) -> set[str]:
    """Lowercase tokens of identifiers and prose: split on non-alphanumerics and camelCase, keep whole words too."""
    out: set[str] = set()
    for raw in re.findall(r"[A-Za-z0-9]+", text):
        out.add(raw.lower())
        if not raw.islower() and not raw.isupper():
            out.update(p.lower() for p in _CAMEL.split(raw))
    return out


def group_hits(group: TermGroup, text: str, text_tokens: set[str] | None = None) -> bool:
    """Whether ``text`` mentions ``group``: long terms as substrings, short ones as whole tokens."""
    low = text.lower()
    if any(t in low for t in group.long_terms()):
        return True
    short = group.short_terms()
    if not short:
        return False
    toks = text_tokens if text_tokens is not None else tokens(text)
    return bool(short & toks)


def quick_mentions(groups: list[TermGroup], lowered_text: str) -> bool:
    """Cheap prefilter on lowercased text: could any group match? (Substring test, never a false negative.)"""
    return any(t in lowered_text for g in groups for t in g.terms)
