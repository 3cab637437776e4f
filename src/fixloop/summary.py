"""The short end-of-command summary of a run, for the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def page_url(public_url: str, thread_id: str) -> str:
    """The run's page on ``fixloop serve`` (``[server] public_url``), or "" when none is configured."""
    return f"{public_url.rstrip('/')}/runs/{thread_id}" if public_url else ""


def public_url_for(doc: dict[str, Any]) -> str:
    """``[server] public_url`` as the run's settings give it (the target's fixloop.toml or
    ``FIXLOOP_SERVER__PUBLIC_URL``); "" when unset or the settings cannot be read."""
    from fixloop.config import load_settings
    from fixloop.errors import FixloopError

    repo = Path(str(doc["repo"])) if doc.get("repo") else None
    try:
        return load_settings(repo if repo is not None and repo.is_dir() else None).server.public_url
    except FixloopError:
        return ""


def _pr_where(pr: dict[str, Any], page: str) -> str:
    """Where a PR can be opened: its web URL; for a local git remote (a ``file://`` URL no browser opens) the run
    page's PR section when there is a page, else the branch on the local remote."""
    url = str(pr.get("url", ""))
    if url.startswith(("https://", "http://")):
        return url
    if page:
        return f"{page}#pr-{pr.get('number')}"
    return f"branch {pr.get('branch', '?')} on the local git remote"


def summary_lines(doc: dict[str, Any], *, out_dir: str | None = None, public_url: str = "") -> list[str]:
    """Status, categories with their root causes, where the files are (and the run's page), what to do next."""
    thread = doc.get("thread_id", "?")
    page = page_url(public_url, str(thread))
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
                lines.append(f"    PR #{pr['number']} [{pr['state']}] {_pr_where(pr, page)}")
    for deploy in doc.get("deploys", [])[-1:]:
        lines.append(f"  last deploy: {deploy['revision'][:12]} {deploy['outcome']}")
    if page:
        lines.append(f"  page: {page}")
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
