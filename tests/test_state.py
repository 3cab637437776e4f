"""Reducers of the graph state: parallel branches merge, newer records replace older ones."""

from __future__ import annotations

from typing import Literal

from fixloop.records import Category, PullRequestRecord
from fixloop.state import Investigation, IterationRecord, merge_investigations, merge_iterations, merge_prs


def _inv(iteration: int, cid: str, outcome: Literal["diagnosed", "fixed", "unfixed"] = "diagnosed") -> Investigation:
    return Investigation(
        iteration=iteration, category=Category(id=cid, kind="server-error", title=cid), outcome=outcome
    )


def test_parallel_investigations_merge_and_keep_every_category() -> None:
    merged = merge_investigations([], [_inv(1, "a")])
    merged = merge_investigations(merged, [_inv(1, "b")])
    assert [(i.iteration, i.category.id) for i in merged] == [(1, "a"), (1, "b")]


def test_a_newer_investigation_of_the_same_category_replaces_the_old_one() -> None:
    merged = merge_investigations([_inv(1, "a"), _inv(1, "b")], [_inv(1, "a", "fixed")])
    assert [(i.category.id, i.outcome) for i in merged] == [("a", "fixed"), ("b", "diagnosed")]
    # the same category in a later iteration is a new record, not a replacement
    merged = merge_investigations(merged, [_inv(2, "a")])
    assert len(merged) == 3


def test_iterations_are_kept_in_order_one_per_number() -> None:
    merged = merge_iterations(
        [IterationRecord(iteration=2)], [IterationRecord(iteration=1), IterationRecord(iteration=2, revision="x")]
    )
    assert [(r.iteration, r.revision) for r in merged] == [(1, None), (2, "x")]


def test_prs_merge_by_number() -> None:
    pr = PullRequestRecord(number=7, url="u", branch="b", base="main", title="t")
    merged = merge_prs([pr], [pr.model_copy(update={"state": "merged"})])
    assert [(p.number, p.state) for p in merged] == [(7, "merged")]
