"""The terminal notifier: one timestamped line per post, markup in the text printed as is."""

from __future__ import annotations

import io
import re

from fixloop.notify import TerminalNotifier


def test_posts_are_timestamped_lines_and_markup_is_not_interpreted() -> None:
    stream = io.StringIO()
    notifier = TerminalNotifier(stream)
    notifier.post("t-1", "selected 3 tests")
    notifier.post("t-1", "[bold]not markup[/bold] PR #1", kind="approval")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r"\d\d:\d\d:\d\d selected 3 tests", lines[0])
    assert lines[1].endswith("[bold]not markup[/bold] PR #1")
