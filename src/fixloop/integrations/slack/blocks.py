"""Block Kit for a run's Slack thread: progress lines, the five whys, the approval message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fixloop.run_views import CategoryView, ProgressItem

APPROVE_ACTION = "fixloop_approve"
REJECT_ACTION = "fixloop_reject"
WHY_ACTION = "fixloop_why"
MAX_SECTION = 2900  # Slack's section text limit is 3000


def _clip(text: str) -> str:
    return text if len(text) <= MAX_SECTION else text[: MAX_SECTION - 1] + "…"


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text)}}


def item_text(item: ProgressItem) -> str:
    links = " ".join(f"<{link.url}|{link.text}>" for link in item.links)
    return f"{item.text} {links}".strip()


def page_button(run_url: str) -> dict[str, Any]:
    """A link button to the run's page on ``fixloop serve`` (``[server] public_url``)."""
    return {
        "type": "button",
        "action_id": "fixloop_open",
        "url": run_url,
        "text": {"type": "plain_text", "text": "Run page"},
    }


def item_blocks(
    item: ProgressItem, *, run_url: str = "", why_value: Callable[[str], str] | None = None
) -> list[dict[str, Any]]:
    """One progress item; a diagnosed category gets a link to the full run and, with ``why_value`` (the signed
    value for a category id), a *Five whys* button. Without a signer there is no button: the thread's
    ``why <category>`` mention answers the same."""
    blocks = [section(item_text(item))]
    view = item.category
    if run_url and item.kind == "status":  # the run ended: its page holds the whole story
        blocks.append({"type": "actions", "elements": [page_button(run_url)]})
    if view is not None and view.whys:
        elements: list[dict[str, Any]] = []
        if why_value is not None:
            elements.append(
                {
                    "type": "button",
                    "action_id": WHY_ACTION,
                    "text": {"type": "plain_text", "text": f"Five whys ({len(view.whys)})"},
                    "value": why_value(view.id),
                }
            )
        if run_url:
            elements.append(page_button(run_url))
        if elements:
            blocks.append({"type": "actions", "elements": elements})
    return blocks


def whys_text(view: CategoryView) -> str:
    lines = [f"*Five whys for `{view.id}`* — {view.title}"]
    for n, step in enumerate(view.whys, start=1):
        cite = f" _[{', '.join(step.evidence)}]_" if step.evidence else ""
        lines.append(f"{n}. *{step.question}* {step.answer}{cite}")
    if view.root_cause:
        lines.append(f"*Root cause:* {view.root_cause}")
    return "\n".join(lines)


def approval_blocks(item: ProgressItem, thread_id: str, value: str, *, run_url: str = "") -> list[dict[str, Any]]:
    """The approval request: what would merge, and Approve / Reject buttons carrying ``value`` (signed by the
    server for this message: run, PRs and their head commits, see ``fixloop.server.buttons``); with ``run_url``
    a link to the run's page (the diff, the whys and their evidence) beside them."""
    blocks = [
        section(":raised_hand: " + item_text(item)),
        {
            "type": "actions",
            "block_id": f"fixloop_approval:{thread_id}",
            "elements": [
                {
                    "type": "button",
                    "style": "primary",
                    "action_id": APPROVE_ACTION,
                    "text": {"type": "plain_text", "text": "Approve"},
                    "value": value,
                },
                {
                    "type": "button",
                    "style": "danger",
                    "action_id": REJECT_ACTION,
                    "text": {"type": "plain_text", "text": "Reject"},
                    "value": value,
                },
            ],
        },
    ]
    if run_url:
        blocks[1]["elements"].append(page_button(run_url))
    return blocks


def decided_blocks(text: str) -> list[dict[str, Any]]:
    """What the approval message becomes once decided (the buttons are gone)."""
    return [section(text)]
