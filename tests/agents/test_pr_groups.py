"""One PR per fault: equal or contained patches of one kind share a PR, led by the largest patch."""

from __future__ import annotations

from fixloop.agents.pr_groups import changed_lines, pr_groups
from fixloop.records import Category, CategoryKind, FixProposal
from fixloop.state import Investigation

CLAIM = """diff --git a/chatbackend/server.py b/chatbackend/server.py
--- a/chatbackend/server.py
+++ b/chatbackend/server.py
@@ -53,1 +53,1 @@
-    return Session(user=str(claims["user_id"]))
+    return Session(user=str(claims["sub"]))
"""
CLAIM_AND_CONFIG = (
    CLAIM
    + """diff --git a/chatbackend/config.py b/chatbackend/config.py
--- a/chatbackend/config.py
+++ b/chatbackend/config.py
@@ -10,1 +10,1 @@
-LEEWAY = 0
+LEEWAY = 30
"""
)
OTHER = """diff --git a/chatbackend/events.py b/chatbackend/events.py
--- a/chatbackend/events.py
+++ b/chatbackend/events.py
@@ -5,1 +5,1 @@
-ORDER = ("b", "a")
+ORDER = ("a", "b")
"""


def _inv(cid: str, kind: CategoryKind, patch: str) -> Investigation:
    category = Category(id=cid, kind=kind, title=cid, tests=[f"tests/test_x.py::{cid}"])
    fix = FixProposal(summary=f"fix {cid}", patch=patch)
    return Investigation(iteration=1, category=category, fix=fix, outcome="fixed", branch=f"b/{cid}")


def _ids(groups: list[list[Investigation]]) -> list[list[str]]:
    return [[inv.category.id for inv in group] for group in groups]


def test_changed_lines_ignore_headers_and_context() -> None:
    lines = changed_lines(CLAIM)
    assert lines == {
        ("chatbackend/server.py", '-    return Session(user=str(claims["user_id"]))'),
        ("chatbackend/server.py", '+    return Session(user=str(claims["sub"]))'),
    }
    assert changed_lines(CLAIM) < changed_lines(CLAIM_AND_CONFIG)
    assert changed_lines("not a diff") == frozenset()


def test_equal_patches_of_one_kind_share_one_pr_in_order() -> None:
    groups = pr_groups([_inv("auth-1", "auth", CLAIM), _inv("auth-2", "auth", CLAIM), _inv("auth-3", "auth", CLAIM)])
    assert _ids(groups) == [["auth-1", "auth-2", "auth-3"]]


def test_the_largest_patch_leads_its_group_whichever_came_first() -> None:
    groups = pr_groups([_inv("auth-1", "auth", CLAIM), _inv("auth-2", "auth", CLAIM_AND_CONFIG)])
    assert _ids(groups) == [["auth-2", "auth-1"]]
    groups = pr_groups([_inv("auth-1", "auth", CLAIM_AND_CONFIG), _inv("auth-2", "auth", CLAIM)])
    assert _ids(groups) == [["auth-1", "auth-2"]]


def test_different_kinds_and_unrelated_patches_get_their_own_prs() -> None:
    groups = pr_groups(
        [
            _inv("auth-1", "auth", CLAIM),
            _inv("protocol-1", "protocol", CLAIM),  # same patch, other kind: a different failure, its own PR
            _inv("auth-2", "auth", OTHER),  # same kind, unrelated change
            _inv("auth-3", "auth", "garbage"),  # unparsable: never merged with anything
            _inv("auth-4", "auth", CLAIM),
        ]
    )
    assert _ids(groups) == [["auth-1", "auth-4"], ["protocol-1"], ["auth-2"], ["auth-3"]]
