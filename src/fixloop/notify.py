"""Progress on the terminal (the ``Notifier`` of the CLI): one timestamped line per step, and the
stages of ``progress.py`` as they happen — a live display with Rich on a terminal (stage, step k/K,
tests n/N, what it waits for, elapsed), plain timestamped lines otherwise (a stage's start and end, and
its counter at most every ``PLAIN_EVERY`` seconds), so a long re-run or stress run is never silent."""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from rich.console import Console, Group
from rich.markup import escape
from rich.text import Text

if TYPE_CHECKING:
    from rich.live import Live

    from fixloop.progress import ProgressEvent

STYLES = {"progress": "cyan", "approval": "bold yellow", "error": "bold red", "done": "bold green"}
PLAIN_EVERY = 10.0  # seconds between two counter lines of one stage when not on a terminal


class TerminalNotifier:
    """Writes progress lines to stderr (stdout stays for the final summary and --json)."""

    def __init__(
        self, stream: TextIO | None = None, *, live: bool | None = None, plain_every: float = PLAIN_EVERY
    ) -> None:
        self.console = Console(file=stream or sys.stderr, highlight=False, soft_wrap=True)
        self.live_display = self.console.is_terminal if live is None else live
        self.plain_every = plain_every
        self._lock = threading.RLock()  # parallel investigations post at once; the live refresh reads
        self._open: dict[tuple[str, str, float], ProgressEvent] = {}  # the stages running now
        self._last_line: dict[tuple[str, str, float], float] = {}
        self._live: Live | None = None

    def post(self, thread_id: str, text: str, *, kind: str = "progress") -> None:
        with self._lock:
            self.console.print(f"[dim]{_stamp()}[/dim] [{STYLES.get(kind, 'cyan')}]{escape(text)}[/]")

    def progress(self, thread_id: str, event: ProgressEvent) -> None:
        key = (event.stage, event.text, event.started)
        with self._lock:
            if event.done:
                self._open.pop(key, None)
            else:
                self._open[key] = event
            if self.live_display:
                self._show_live()
            else:
                self._show_plain(key, event)

    # ------------------------------------------------------------ not a terminal: timestamped lines

    def _show_plain(self, key: tuple[str, str, float], event: ProgressEvent) -> None:
        now = time.monotonic()
        first = key not in self._last_line
        if not (first or event.done or now - self._last_line[key] >= self.plain_every):
            return
        self._last_line[key] = now
        if event.done:
            self._last_line.pop(key, None)
        self.console.print(f"[dim]{_stamp()}[/dim] {escape(event.describe())}")

    # ------------------------------------------------------------ a terminal: one live line per stage

    def _show_live(self) -> None:
        from rich.live import Live

        if not self._open:
            if self._live is not None:
                self._live.stop()
                self._live = None
            return
        if self._live is None:
            self._live = Live(_Stages(self), console=self.console, refresh_per_second=4, transient=True)
            self._live.start()

    def close(self) -> None:
        with self._lock:
            if self._live is not None:
                self._live.stop()
                self._live = None


class _Stages:
    """The live display's renderable: the open stages, read at every refresh (elapsed keeps ticking)."""

    def __init__(self, notifier: TerminalNotifier) -> None:
        self.notifier = notifier

    def __rich__(self) -> Group:
        with self.notifier._lock:
            events = list(self.notifier._open.values())
        return Group(*(Text(f"⏳ {event.describe()}", style="cyan") for event in events))


def _stamp() -> str:
    return datetime.now(UTC).strftime("%H:%M:%S")
