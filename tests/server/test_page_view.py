"""The run page's data from a run record: phases, whys with cited evidence, diff, stress, links."""

from __future__ import annotations

from fixloop.server.page_list import ListQuery, list_page
from fixloop.server.page_view import diff_lines, link, run_view

RECORD = {
    "thread_id": "t-1",
    "status": "awaiting_approval",
    "requested_by": "bob",
    "llm": {"mode": "scripted", "model": "scripted:x"},
    "phases": [
        {"name": "iter-1", "iteration": 1, "outcomes": {"a::t1": "failed", "a::t2": "passed", "a::t3": "error"}}
    ],
    "iterations": [
        {
            "iteration": 1,
            "categories": [
                {
                    "id": "server-error-1",
                    "kind": "server-error",
                    "tests": ["a::t1"],
                    "five_whys": {
                        "steps": [{"question": "Why?", "answer": "because", "evidence": ["E1", "E9"]}],
                        "root_cause": "the key is wrong",
                        "confidence": 0.9,
                    },
                    "evidence": {"items": [{"id": "E1", "kind": "log-line", "title": "KeyError", "text": "x" * 3000}]},
                    "fix": {"patch": "diff --git a/f b/f\n@@ -1 +1 @@\n-old\n+new\n ctx"},
                    "attempts": [
                        {
                            "stress": {
                                "runs": 2,
                                "results": [{"run": 1, "failing": []}, {"run": 2, "failing": ["a::t1"]}],
                            }
                        }
                    ],
                    "pr": {"number": 1, "url": "file:///tmp/x.git/pulls/1", "state": "open"},
                }
            ],
        }
    ],
    "prs": [{"number": 1, "url": "https://github.com/o/r/pull/1", "state": "open", "head_sha": "abc"}],
}


def test_phases_count_outcomes_and_list_the_failing_ids() -> None:
    (phase,) = run_view(RECORD).phases
    assert phase.counts == {"error": 1, "failed": 1, "passed": 1}
    assert phase.failing == ["a::t1", "a::t3"]


def test_each_why_shows_its_cited_evidence_and_says_when_a_citation_is_missing() -> None:
    (category,) = run_view(RECORD).categories
    (step,) = category.steps
    assert [e["id"] for e in step.evidence] == ["E1", "E9"]
    assert step.evidence[0]["title"] == "KeyError" and "1000 characters more" in step.evidence[0]["text"]
    assert step.evidence[1]["title"] == "not in this run's evidence"
    assert category.stress == {"runs": 2, "green": 1, "tests": [], "results": category.stress["results"]}  # type: ignore[index]


def test_links_only_to_what_a_browser_can_open() -> None:
    view = run_view(RECORD)
    assert view.categories[0].pr is not None and view.categories[0].pr["link"] == ""
    assert view.prs[0]["link"] == "https://github.com/o/r/pull/1"
    assert view.waiting_heads == ["abc"]
    assert link("javascript:alert(1)") == ""


def test_diff_lines_are_classified() -> None:
    kinds = [d.kind for d in diff_lines("diff --git a/f b/f\n@@ -1 +1 @@\n-old\n+new\n ctx")]
    assert kinds == ["file", "hunk", "del", "add", "ctx"]


def test_an_empty_or_odd_record_renders_without_error() -> None:
    view = run_view({"status": "running", "iterations": "not a list", "prs": [1, None], "cost": 3})
    assert view.phases == [] and view.categories == [] and view.prs == [] and view.cost == {}


def test_list_filters_sorts_and_pages() -> None:
    runs = [
        {"thread_id": f"t-{n}", "status": "green" if n % 2 else "error", "focus": "ws", "requested_by": f"u{n % 3}",
         "updated": f"2026-12-06T{n // 60:02d}:{n % 60:02d}:00"}
        for n in range(250)
    ]  # fmt: skip
    first = list_page(runs, ListQuery())
    assert first.total == 250 and first.pages == 3 and first.runs[0]["thread_id"] == "t-249"
    kept = list_page(runs, ListQuery(status="green", requester="U1"))
    assert kept.matched == len([r for r in runs if r["status"] == "green" and r["requested_by"] == "u1"])
    assert list_page(runs, ListQuery(page=99)).page == 3


def test_step_texts_lose_file_urls_that_open_nowhere() -> None:
    doc = {"events": [{"text": "opened or updated 1 PRs: #1 file:///tmp/r.git/pulls/1"}]}
    assert run_view(doc).events[0]["text"] == "opened or updated 1 PRs: #1 (on the local git remote)"
