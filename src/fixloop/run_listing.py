"""``fixloop status`` without a thread: the runs as a table with a header, filtered (``--mine``, ``--active``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

ACTIVE = ("running", "awaiting_approval")  # a process drives it, or it waits for a human
COLUMNS = (("THREAD", "thread_id"), ("STATUS", "status"), ("BY", "requested_by"), ("UPDATED", "updated"),
           ("FOCUS", "focus"), ("OUT", "out_dir"))  # fmt: skip


def filter_runs(runs: Sequence[dict[str, Any]], *, by: str | None = None, active: bool = False) -> list[dict[str, Any]]:
    """The runs requested by ``by`` (when given) and, with ``active``, only those running or awaiting approval."""
    return [
        run
        for run in runs
        if (by is None or run.get("requested_by") == by) and (not active or run.get("status") in ACTIVE)
    ]


def render_table(runs: Sequence[dict[str, Any]]) -> list[str]:
    """A header and one line per run, columns padded to their widest cell (the last one is not padded)."""
    rows = [[str(run.get(key) or "-") for _, key in COLUMNS] for run in runs]
    header = [title for title, _ in COLUMNS]
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=False)]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
            for line in (header, *rows)]  # fmt: skip
