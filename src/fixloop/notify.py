"""Progress on the terminal: one timestamped line per step (the ``Notifier`` of the CLI)."""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime
from typing import TextIO

from rich.console import Console
from rich.markup import escape

STYLES = {"progress": "cyan", "approval": "bold yellow", "error": "bold red", "done": "bold green"}


class TerminalNotifier:
    """Writes progress lines to stderr (stdout stays for the final summary and --json)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.console = Console(file=stream or sys.stderr, highlight=False, soft_wrap=True)
        self._lock = threading.Lock()  # parallel investigations post at the same time

    def post(self, thread_id: str, text: str, *, kind: str = "progress") -> None:
        stamp = datetime.now(UTC).strftime("%H:%M:%S")
        style = STYLES.get(kind, "cyan")
        with self._lock:
            self.console.print(f"[dim]{stamp}[/dim] [{style}]{escape(text)}[/{style}]")
