"""The typed runtime context of the graphs: settings and the outside-world clients.

Built once per process by ``runs.py`` (the edge) and passed to ``invoke`` as
``context=``; nodes read it through ``Runtime[RunContext]`` and never build a
client themselves. It is not checkpointed: a resumed run rebuilds it from the
run index.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from fixloop.config import Settings
from fixloop.interfaces import ChatModel, CodeHost, Deployer, LogSource, Notifier
from fixloop.redaction import Redactor


@dataclass
class RunContext:
    settings: Settings
    repo: Path
    out_dir: Path
    thread_id: str
    redactor: Redactor
    model: ChatModel | None = None
    logs: LogSource | None = None
    codehost: CodeHost | None = None
    deployer: Deployer | None = None
    notifier: Notifier | None = None

    def notify(self, text: str, *, kind: str = "progress") -> None:
        if self.notifier is not None:
            self.notifier.post(self.thread_id, self.redactor.redact(text), kind=kind)

    def stage(
        self, name: str, text: str = "", *, step: int | None = None, total: int | None = None, waits_for: str = ""
    ) -> AbstractContextManager[None]:
        """A progress stage (``progress.py``): shown live by a notifier that has ``progress``, else nothing."""
        from fixloop.progress import stage

        sink = getattr(self.notifier, "progress", None)
        emit = (lambda event: sink(self.thread_id, event)) if callable(sink) else None
        return stage(emit, name, self.redactor.redact(text), step=step, total=total, waits_for=waits_for)
