"""Moved down to ``fixloop.run_views`` (the Slack blocks under ``integrations`` use it too, and
integrations sit below the server in the import layers); these names stay importable from here."""

from __future__ import annotations

from fixloop.run_views import (
    CategoryView,
    Link,
    ProgressItem,
    WhyStep,
    approval_items,
    approval_needed_item,
    category_items,
    category_views,
    deploy_items,
    find_category,
    item_payload,
    open_heads,
    pr_items,
    progress_items,
    results_items,
    selection_item,
    status_item,
    status_text,
)

__all__ = [
    "CategoryView",
    "Link",
    "ProgressItem",
    "WhyStep",
    "approval_items",
    "approval_needed_item",
    "category_items",
    "category_views",
    "deploy_items",
    "find_category",
    "item_payload",
    "open_heads",
    "pr_items",
    "progress_items",
    "results_items",
    "selection_item",
    "status_item",
    "status_text",
]
