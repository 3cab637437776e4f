"""The short end-of-command summary of a run, for the terminal."""

from __future__ import annotations

from typing import Any


def summary_lines(doc: dict[str, Any], *, out_dir: str | None = None) -> list[str]:
    """Status, categories with their root causes, where the files are, what to do next."""
    thread = doc.get("thread_id", "?")
    llm = doc.get("llm") or {}
    model = f"{llm.get('mode', 'none')}" + (f" ({llm['model']})" if llm.get("model") else "")
    lines = [f"run {thread}: {str(doc.get('status', '?')).upper()} — {doc.get('outcome', '')}".rstrip(" —")]
    lines.append(f"  focus: {doc.get('focus', '')}   llm: {model}")
    iterations = doc.get("iterations") or []
    if iterations:
        last = iterations[-1]
        counts = ", ".join(f"{v} {k}" for k, v in sorted((last.get("counts") or {}).items())) or "no results"
        lines.append(f"  iteration {last.get('iteration')}: {counts}")
        for cat in last.get("categories", []):
            whys = cat.get("five_whys") or {}
            cause = whys.get("root_cause") or "-"
            lines.append(f"  - {cat['id']} ({cat['kind']}, {len(cat.get('tests', []))} tests): {cause}")
            if cat.get("pr"):
                pr = cat["pr"]
                lines.append(f"    PR #{pr['number']} [{pr['state']}] {pr['url']}")
    for deploy in doc.get("deploys", [])[-1:]:
        lines.append(f"  last deploy: {deploy['revision'][:12]} {deploy['outcome']}")
    where = out_dir or doc.get("out_dir")
    if where:
        lines.append(f"  worklog: {where}/worklog.md")
        lines.append(f"  run.json: {where}/run.json")
    status = doc.get("status")
    if status == "awaiting_approval":
        lines.append(
            f"  next: fixloop approve {thread} --by NAME   (or: fixloop reject {thread} --by NAME --reason TEXT)"
        )
    elif doc.get("interrupted"):
        lines.append(f"  interrupted: no fixloop process drives it. next: fixloop resume {thread}")
    elif status == "error":
        lines.append(f"  next: fix the cause, then fixloop resume {thread}")
    return lines
