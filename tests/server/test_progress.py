"""Progress items from a run.json shaped like the reporter's (iterations holding categories)."""

from __future__ import annotations

from typing import Any

from fixloop.server.faces import issue_markdown
from fixloop.server.progress import find_category, progress_items, status_text


def run_json(status: str = "awaiting_approval", *, iterations: int = 1) -> dict[str, Any]:
    whys = {
        "steps": [{"question": f"Why {n}?", "answer": f"a{n}", "evidence": ["E1"]} for n in range(5)],
        "root_cause": "handshake handler raises on a missing header",
        "confidence": 0.9,
        "method": "rules",
    }
    its = []
    for n in range(1, iterations + 1):
        failing = n < 2
        its.append(
            {
                "iteration": n,
                "selection": {
                    "focus": "websockets",
                    "repo": "/r",
                    "tiers": [
                        {
                            "priority": 1,
                            "name": "core",
                            "files": [{"path": "a.py", "reason": "r"}, {"path": "b.py", "reason": "r"}],
                        }
                    ],
                },
                "counts": {"passed": 4, "failed": 3} if failing else {"passed": 7},
                "categories": [
                    {
                        "id": "server-error-1",
                        "kind": "server-error",
                        "title": "HTTP 500 on handshake",
                        "tests": ["t1", "t2", "t3"],
                        "five_whys": whys,
                    }
                ]
                if failing
                else [],
            }
        )
    return {
        "thread_id": "fl-1",
        "focus": "websockets",
        "status": status,
        "outcome": "tiers hold",
        "requested_by": "carol",
        "iterations": its,
        "prs": [
            {
                "number": 3,
                "url": "file:///prs/3",
                "title": "Fix handshake",
                "state": "open",
                "category_id": "server-error-1",
                "branch": "b",
                "base": "main",
            }
        ],
        "approvals": [],
        "deploys": [],
    }


def test_items_follow_the_reporter_shape() -> None:
    items = progress_items(run_json())
    kinds = [i.kind for i in items]
    assert kinds == ["selection", "results", "category", "pr", "approval-needed"]
    assert items[0].text.startswith("Selected 2 test files for focus *websockets* in 1 tiers: P1 core (2)")
    assert items[1].text == "Test run 1: 3 failed, 4 passed"
    assert "Root cause: handshake handler raises on a missing header (confidence 0.90)" in items[2].text
    assert items[2].category is not None and len(items[2].category.whys) == 5
    assert items[3].links == (), "a local remote's file:// URL is no link (the run page shows the PR)"
    assert "Requested by carol" in items[4].text


def test_keys_are_stable_so_a_new_poll_posts_only_what_is_new() -> None:
    before = {i.key for i in progress_items(run_json())}
    later = run_json("green", iterations=2)
    later["prs"][0]["state"] = "merged"
    later["approvals"] = [{"by": "alice", "decision": "approve", "source": "slack"}]
    later["deploys"] = [{"revision": "0123456789abcdef", "outcome": "healthy"}]
    fresh = [i for i in progress_items(later) if i.key not in before]
    assert [i.kind for i in fresh] == ["results", "pr", "approval", "deploy", "status"]
    assert fresh[-1].text == "Run `fl-1` is *green*: tiers hold"


def test_status_text_why_lookup_and_issue_markdown() -> None:
    doc = run_json()
    assert status_text(doc).splitlines()[0] == "Run `fl-1`: *awaiting_approval* (focus websockets)"
    view = find_category(doc, "server-error-1")
    assert view is not None and view.root_cause.startswith("handshake handler")
    assert find_category(doc, "nope") is None
    markdown = issue_markdown(progress_items(doc), "fl-1")
    assert "<details><summary>Five whys</summary>" in markdown and "file://" not in markdown
    linked = issue_markdown(progress_items(doc), "fl-1", run_url="https://fixloop.example/runs/fl-1")
    assert linked.startswith("**fixloop** run `fl-1` · [run page](https://fixloop.example/runs/fl-1)")
    assert "/fixloop approve" in markdown
