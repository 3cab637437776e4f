"""The CLI summary: the run page when ``[server] public_url`` is set, never a file:// link that opens nowhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixloop.summary import public_url_for, summary_lines

DOC = {
    "thread_id": "fl-1",
    "status": "awaiting_approval",
    "focus": "websockets",
    "iterations": [
        {
            "iteration": 1,
            "counts": {"failed": 1},
            "categories": [
                {
                    "id": "server-error-1",
                    "kind": "server-error",
                    "tests": ["t"],
                    "pr": {"number": 1, "state": "open", "url": "file:///tmp/r.git/pulls/1", "branch": "fixloop/b"},
                }
            ],
        }
    ],
}


def test_with_a_public_url_the_summary_links_the_page_and_its_pr_section() -> None:
    lines = summary_lines(DOC, public_url="https://fixloop.example/")
    assert "  page: https://fixloop.example/runs/fl-1" in lines
    assert "    PR #1 [open] https://fixloop.example/runs/fl-1#pr-1" in lines
    assert not any("file://" in line for line in lines)


def test_without_one_a_local_pr_names_its_branch() -> None:
    lines = summary_lines(DOC)
    assert "    PR #1 [open] branch fixloop/b on the local git remote" in lines
    assert not any(line.startswith("  page:") for line in lines)


def test_public_url_comes_from_the_target_settings_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fixloop.toml").write_text('[server]\npublic_url = "https://from-file.example"\n')
    assert public_url_for({"repo": str(tmp_path)}) == "https://from-file.example"
    monkeypatch.setenv("FIXLOOP_SERVER__PUBLIC_URL", "https://from-env.example")
    assert public_url_for({"repo": str(tmp_path / "gone")}) == "https://from-env.example"
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "fixloop.toml").write_text("[server\n")
    monkeypatch.delenv("FIXLOOP_SERVER__PUBLIC_URL")
    assert public_url_for({"repo": str(tmp_path / "bad")}) == ""
