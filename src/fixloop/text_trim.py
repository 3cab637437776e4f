"""Trim long output at line boundaries: a reader never sees half a traceback line."""

from __future__ import annotations


def head_at_line(text: str, limit: int) -> str:
    """At most ``limit`` characters from the start, ending at a line end (a hard cut only for one long line)."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit + 1)
    return text[:cut] if cut > 0 else text[:limit]


def tail_at_line(text: str, limit: int) -> str:
    """At most ``limit`` characters from the end, starting at a line start (a hard cut only for one long line)."""
    if len(text) <= limit:
        return text
    start = len(text) - limit
    cut = text.find("\n", start - 1)
    return text[cut + 1 :] if cut != -1 and cut + 1 < len(text) else text[start:]


def middle_at_lines(text: str, limit: int) -> str:
    """Head and tail of ``text`` (``limit`` characters in all), whole lines, with what was left out in between."""
    if len(text) <= limit:
        return text
    head, tail = head_at_line(text, limit // 2), tail_at_line(text, limit // 2)
    left_out = text.count("\n") - head.count("\n") - tail.count("\n")
    return f"{head}\n... ({max(left_out, 1)} lines trimmed) ...\n{tail}"
