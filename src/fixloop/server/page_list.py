"""The ``/runs`` page's data: the run index filtered by status, focus and requester, newest first, a page at a time.

It reads the runs' index (one summary per run, ``Runner.list``), never a checkpoint or a run.json: the list stays
fast with thousands of runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fixloop.errors import UsageError
from fixloop.server.commands import check_text

PAGE_SIZE = 100


@dataclass(frozen=True)
class ListQuery:
    status: str = ""
    focus: str = ""
    requester: str = ""
    page: int = 1

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> ListQuery:
        def text(name: str) -> str:
            return check_text(str(params.get(name, "")), limit=100)

        raw_page = str(params.get("page", "1")).strip() or "1"
        if not raw_page.isdigit() or not 1 <= int(raw_page) <= 100_000:
            raise UsageError(f"page {raw_page[:20]!r} is not a page number")
        return cls(status=text("status"), focus=text("focus"), requester=text("requester"), page=int(raw_page))

    def matches(self, run: Mapping[str, Any]) -> bool:
        return (
            (not self.status or run.get("status") == self.status)
            and (not self.focus or str(run.get("focus", "")).casefold() == self.focus.casefold())
            and (not self.requester or str(run.get("requested_by", "")).casefold() == self.requester.casefold())
        )

    def params(self, **changes: Any) -> dict[str, str]:
        values = {"status": self.status, "focus": self.focus, "requester": self.requester, "page": str(self.page)}
        values.update({k: str(v) for k, v in changes.items()})
        return {k: v for k, v in values.items() if v and not (k == "page" and v == "1")}


@dataclass
class Listing:
    runs: list[dict[str, Any]]
    total: int  # runs in the store
    matched: int  # runs the filters keep
    statuses: dict[str, int]  # status -> runs (of the whole store), for the filter choices
    focuses: list[str]
    requesters: list[str]
    page: int
    pages: int


def list_page(runs: Sequence[dict[str, Any]], query: ListQuery) -> Listing:
    kept = [run for run in runs if query.matches(run)]
    kept.sort(key=lambda run: str(run.get("updated") or ""), reverse=True)
    pages = max(1, -(-len(kept) // PAGE_SIZE))
    page = min(query.page, pages)
    return Listing(
        runs=kept[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        total=len(runs),
        matched=len(kept),
        statuses=dict(sorted(Counter(str(run.get("status", "?")) for run in runs).items())),
        focuses=sorted({str(run.get("focus")) for run in runs if run.get("focus")}),
        requesters=sorted({str(run.get("requested_by")) for run in runs if run.get("requested_by")}),
        page=page,
        pages=pages,
    )
