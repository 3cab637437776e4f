"""Turn a run.json into progress items a chat face can post once each (the server and the Slack blocks).

Each item has a stable ``key``; a watcher posts the items whose key it has not posted
yet, so polling run.json again and again never repeats a message. Slack and GitHub
format the same items their own way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Link:
    text: str
    url: str


@dataclass(frozen=True)
class WhyStep:
    question: str
    answer: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class CategoryView:
    id: str
    kind: str
    title: str
    tests: int
    root_cause: str
    confidence: float | None
    whys: tuple[WhyStep, ...] = ()


@dataclass(frozen=True)
class ProgressItem:
    key: str
    kind: str  # selection | results | category | pr | approval-needed | approval | deploy | status
    text: str
    links: tuple[Link, ...] = ()
    category: CategoryView | None = None
    data: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def _list(run: dict[str, Any], *names: str) -> list[Any]:
    for name in names:
        value = run.get(name)
        if isinstance(value, list):
            return value
    return []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _iterations(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [_dict(i) for i in _list(run, "iterations")]


def selection_item(run: dict[str, Any]) -> ProgressItem | None:
    selection = _dict(run.get("selection"))
    if not selection:
        firsts = [i.get("selection") for i in _iterations(run) if i.get("selection")]
        selection = _dict(firsts[0]) if firsts else {}
    tiers = [_dict(t) for t in _list(selection, "tiers")]
    if not selection:
        return None
    files = sum(len(_list(t, "files")) for t in tiers)
    parts = [f"P{t.get('priority', '?')} {t.get('name', '')} ({len(_list(t, 'files'))})" for t in tiers]
    text = f"Selected {files} test files for focus *{selection.get('focus', run.get('focus', ''))}*"
    text += f" in {len(tiers)} tiers: " + ", ".join(parts) if parts else ""
    if selection.get("message"):
        text += f" — {selection['message']}"
    return ProgressItem(key="selection", kind="selection", text=text)


def _counts(test_run: dict[str, Any]) -> dict[str, int]:
    counts = test_run.get("counts")
    if isinstance(counts, dict):
        return {str(k): int(v) for k, v in counts.items() if isinstance(v, int)}
    out: dict[str, int] = {}
    for result in _list(test_run, "results"):
        outcome = _dict(result).get("outcome")
        if isinstance(outcome, str):
            out[outcome] = out.get(outcome, 0) + 1
    return out


def results_items(run: dict[str, Any]) -> list[ProgressItem]:
    items = []
    for n, test_run in enumerate(_list(run, "test_runs", "iterations"), start=1):
        counts = _counts(_dict(test_run))
        if not counts:
            continue
        summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        items.append(ProgressItem(key=f"results:{n}", kind="results", text=f"Test run {n}: {summary}"))
    return items


def _whys(category: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    for name in ("five_whys", "whys", "diagnosis"):
        if isinstance(category.get(name), dict):
            return _dict(category[name])
    by_category = run.get("five_whys") or run.get("diagnoses")
    if isinstance(by_category, dict):
        return _dict(by_category.get(str(category.get("id"))))
    return {}


def _categories(run: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """(iteration, category) pairs: from ``iterations[*].categories`` (run.json), else ``categories``."""
    found = [
        (int(it.get("iteration", n)), _dict(c))
        for n, it in enumerate(_iterations(run), start=1)
        for c in _list(it, "categories")
    ]
    return found or [(1, _dict(c)) for c in _list(run, "categories")]


def category_views(run: dict[str, Any], *, iteration: int | None = None) -> list[CategoryView]:
    """The categories of the latest iteration that has any (or of ``iteration``)."""
    pairs = _categories(run)
    if pairs:
        chosen = iteration if iteration is not None else max(n for n, _ in pairs)
        pairs = [(n, c) for n, c in pairs if n == chosen]
    views = []
    for _, category in pairs:
        whys = _whys(category, run)
        steps = tuple(
            WhyStep(
                str(_dict(s).get("question", "")),
                str(_dict(s).get("answer", "")),
                tuple(str(e) for e in _list(_dict(s), "evidence")),
            )
            for s in _list(whys, "steps")
        )
        confidence = whys.get("confidence")
        views.append(
            CategoryView(
                id=str(category.get("id", "")),
                kind=str(category.get("kind", "")),
                title=str(category.get("title", "")),
                tests=len(_list(category, "tests")),
                root_cause=str(whys.get("root_cause") or category.get("root_cause") or ""),
                confidence=float(confidence) if isinstance(confidence, int | float) else None,
                whys=steps,
            )
        )
    return views


def category_items(run: dict[str, Any]) -> list[ProgressItem]:
    items = []
    iterations = sorted({n for n, _ in _categories(run)})
    for iteration in iterations:
        for view in category_views(run, iteration=iteration):
            items.append(_category_item(view, iteration))
    return items


def _category_item(view: CategoryView, iteration: int) -> ProgressItem:
    text = f"Category `{view.id}` ({view.kind}, {view.tests} tests): {view.title}"
    key = f"category:{iteration}:{view.id}"
    if view.root_cause:
        conf = f" (confidence {view.confidence:.2f})" if view.confidence is not None else ""
        text = f"Diagnosed `{view.id}` ({view.kind}, {view.tests} tests): {view.title}"
        text += f"\nRoot cause: {view.root_cause}{conf}"
        key += ":diagnosed"
    return ProgressItem(key=key, kind="category", text=text, category=view)


def pr_items(run: dict[str, Any]) -> list[ProgressItem]:
    items = []
    for raw in _list(run, "prs", "pull_requests"):
        pr = _dict(raw)
        number, url, state = pr.get("number"), str(pr.get("url", "")), str(pr.get("state", "open"))
        title = str(pr.get("title", ""))
        text = f"PR #{number} ({state}) for `{pr.get('category_id', '')}`: {title}"
        # a local git remote's file:// URL opens nowhere: the run page shows that PR instead
        links = (Link(f"PR #{number}", url),) if url.startswith(("https://", "http://")) else ()
        items.append(ProgressItem(key=f"pr:{number}:{state}", kind="pr", text=text, links=links))
    return items


def approval_items(run: dict[str, Any]) -> list[ProgressItem]:
    items = []
    for n, raw in enumerate(_list(run, "approvals"), start=1):
        record = _dict(raw)
        if record.get("decision") == "refused":
            continue  # the face that took the click answers a refusal itself
        decision, by = record.get("decision", ""), record.get("by", "")
        reason = f": {record['reason']}" if record.get("reason") else ""
        text = f"Approval record: {by} — {decision} (from {record.get('source', '?')}){reason}"
        items.append(ProgressItem(key=f"approval:{n}", kind="approval", text=text))
    return items


def deploy_items(run: dict[str, Any]) -> list[ProgressItem]:
    items = []
    for n, raw in enumerate(_list(run, "deploys"), start=1):
        record = _dict(raw)
        text = f"Deploy {n}: revision `{str(record.get('revision', ''))[:12]}` — {record.get('outcome', '?')}"
        items.append(ProgressItem(key=f"deploy:{n}", kind="deploy", text=text))
    return items


def approval_needed_item(run: dict[str, Any]) -> ProgressItem | None:
    """While the run waits for approval: one item per wait (a reject starts a new wait)."""
    if run.get("status") != "awaiting_approval":
        return None
    decided = sum(1 for a in _list(run, "approvals") if _dict(a).get("decision") in ("approve", "reject"))
    prs = [p for p in pr_items(run)]
    links = tuple(link for p in prs for link in p.links)
    numbers = ", ".join(f"#{_dict(p).get('number')}" for p in _list(run, "prs", "pull_requests")) or "the fix"
    text = f"Waiting for approval to merge {numbers}. Requested by {run.get('requested_by', '?')}; "
    text += "four-eyes: the requester cannot approve."
    return ProgressItem(
        key=f"approval-needed:{decided}",
        kind="approval-needed",
        text=text,
        links=links,
        data={"heads": open_heads(run)},
    )


def open_heads(run: dict[str, Any]) -> dict[int, str]:
    """PR number -> head commit of the run's open PRs (what an approval names)."""
    heads: dict[int, str] = {}
    for raw in _list(run, "prs", "pull_requests"):
        pr = _dict(raw)
        number, sha = pr.get("number"), pr.get("head_sha")
        if pr.get("state", "open") == "open" and isinstance(number, int) and isinstance(sha, str) and sha:
            heads[number] = sha
    return heads


def status_item(run: dict[str, Any]) -> ProgressItem | None:
    status = run.get("status")
    if not isinstance(status, str) or status in ("running", "awaiting_approval"):
        return None
    iteration = len(_list(run, "test_runs", "iterations"))
    text = f"Run `{run.get('thread_id', '')}` is *{status}*"
    detail = run.get("outcome") or run.get("reason") or run.get("summary")
    if detail:
        text += f": {detail}"
    return ProgressItem(key=f"status:{status}:{iteration}", kind="status", text=text)


def progress_items(run: dict[str, Any]) -> list[ProgressItem]:
    """Every item the run.json shows so far, in the order a reader wants them."""
    items: list[ProgressItem] = []
    sel = selection_item(run)
    if sel:
        items.append(sel)
    items += results_items(run) + category_items(run) + pr_items(run) + approval_items(run) + deploy_items(run)
    for extra in (approval_needed_item(run), status_item(run)):
        if extra:
            items.append(extra)
    return items


def status_text(run: dict[str, Any]) -> str:
    """A short answer to ``status``."""
    lines = [f"Run `{run.get('thread_id', '')}`: *{run.get('status', 'unknown')}* (focus {run.get('focus', '?')})"]
    tests = results_items(run)
    if tests:
        lines.append(tests[-1].text)
    for view in category_views(run):
        lines.append(f"• `{view.id}` {view.title}" + (f" — root cause: {view.root_cause}" if view.root_cause else ""))
    for pr in pr_items(run):
        lines.append("• " + pr.text + "".join(f" {link.url}" for link in pr.links))
    return "\n".join(lines)


def find_category(run: dict[str, Any], category_id: str) -> CategoryView | None:
    for view in category_views(run):
        if view.id == category_id:
            return view
    return None


def item_payload(item: ProgressItem) -> dict[str, Any]:
    """A JSON-ready form of an item (for Server-Sent Events)."""
    payload: dict[str, Any] = {"key": item.key, "kind": item.kind, "text": item.text}
    if item.links:
        payload["links"] = [{"text": link.text, "url": link.url} for link in item.links]
    if item.category is not None:
        payload["category"] = item.category.id
        payload["root_cause"] = item.category.root_cause
    return payload
