"""``fixloop verify``'s verdict kept beside run.json, and read back (or None) for the run page."""

from __future__ import annotations

from pathlib import Path

from fixloop.verdict import VERDICT, read_verdict, write_verdict


def test_verdict_round_trip_and_unreadable_files(tmp_path: Path) -> None:
    assert read_verdict(tmp_path) is None
    write_verdict(tmp_path, ok=False, checked=["2/2 artifacts"], problems=["artifact a was modified"])
    verdict = read_verdict(tmp_path)
    assert verdict is not None and verdict["ok"] is False and verdict["problems"] == ["artifact a was modified"]
    (tmp_path / VERDICT).write_text("{not json")
    assert read_verdict(tmp_path) is None
    (tmp_path / VERDICT).write_text("[1, 2]")
    assert read_verdict(tmp_path) is None
