"""The typed runtime context of the graphs: plain JSON-able fields, and the clients built from them.

The fields (ids, paths, modes, names of settings) are all a process needs to build the run's clients
(``run_clients.py``): the settings, the redactor, the model, the log source, the code host, the
deployer. They are built lazily, the first time a node asks for one, and kept for the process (one
bundle per distinct context), so the same graph runs:

- under ``runs.py`` (CLI, ``serve``), which builds the clients itself and passes them in
  (``RunContext(settings=..., redactor=..., model=...)``), with a notifier;
- under LangGraph Server (``langgraph dev``), which receives the context as JSON
  (``{"thread_id": ..., "repo": ..., "llm": "scripted", "scenario": ...}``) and makes it a
  ``RunContext`` through ``context_schema`` before the first node runs.

Nodes read it through ``Runtime[RunContext]`` and never build a client themselves. It is not
checkpointed: a resumed run rebuilds it from the run index (or the server's run context).
"""

from __future__ import annotations

import os
import threading
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from fixloop.config import Settings
from fixloop.errors import RunInputError
from fixloop.interfaces import ChatModel, CodeHost, Deployer, LogSource, Notifier
from fixloop.redaction import Redactor
from fixloop.run_clients import Clients, build_clients
from fixloop.vocabulary import AutonomyLevel, LLMMode

_PROCESS_CLIENTS: dict[str, Clients] = {}  # context JSON -> its clients, built once per process
_PROCESS_LOCK = threading.Lock()


class RunContext(BaseModel):
    """What a process needs to know to build a run's clients; the clients themselves are private."""

    model_config = ConfigDict(extra="forbid")

    thread_id: str = Field(min_length=1)
    repo: Path
    out_dir: Path  # absent: ``$FIXLOOP_HOME/runs/<thread_id>``
    config_file: str = ""  # --config FILE, when the run's settings come from one
    llm: LLMMode = "none"
    scenario: str | None = None  # for the scripted model: whose script it replays
    stop_at: AutonomyLevel | None = None  # None: the settings' level for the focus
    max_iterations: int | None = None  # None: the settings' limit
    prices: dict[str, tuple[float, float]] = Field(default_factory=dict)  # added to llm.prices

    _clients: Clients | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _default_out_dir(cls, data: Any) -> Any:
        """No I/O here: LangGraph Server builds the context inside its event loop."""
        if isinstance(data, dict) and not data.get("out_dir"):
            home = Path(os.environ.get("FIXLOOP_HOME") or Path.home() / ".fixloop")
            return {**data, "out_dir": home / "runs" / str(data.get("thread_id") or "run")}
        return data

    @field_validator("repo", "out_dir")
    @classmethod
    def _absolute(cls, path: Path) -> Path:
        if not path.is_absolute():
            raise ValueError(f"{path} is not an absolute path (whose working folder would it be relative to?)")
        return path

    def __init__(
        self,
        *,
        settings: Settings | None = None,
        redactor: Redactor | None = None,
        model: ChatModel | None = None,
        logs: LogSource | None = None,
        codehost: CodeHost | None = None,
        deployer: Deployer | None = None,
        notifier: Notifier | None = None,
        **fields: Any,
    ) -> None:
        """Validate the JSON fields (``RunInputError`` naming each bad one); with ``settings`` the caller's
        clients are the run's (an absent one stays absent), else they are built on first use."""
        try:
            super().__init__(**fields)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'context'}: {err['msg']}" for err in exc.errors()
            )
            raise RunInputError(
                f"bad run context: {problems}", hint=f"fields: {', '.join(type(self).model_fields)}"
            ) from None
        if settings is not None:
            self._clients = Clients(
                settings=settings,
                redactor=redactor or Redactor(),
                model=model,
                logs=logs,
                codehost=codehost,
                deployer=deployer,
                notifier=notifier,
            )

    @classmethod
    def from_request(cls, stored: dict[str, Any], *, notifier: Notifier | None = None) -> RunContext:
        """The context of a run indexed by ``runs.py`` (its stored request), clients built now."""
        ctx = cls(**{name: stored[name] for name in cls.model_fields if stored.get(name) is not None})
        ctx._clients = build_clients(ctx.spec(), notifier=notifier)
        return ctx

    def spec(self) -> dict[str, Any]:
        """The JSON form: what LangGraph Server is sent as ``context``."""
        return self.model_dump(mode="json")

    @property
    def clients(self) -> Clients:
        if self._clients is None:
            key = self.model_dump_json()
            with _PROCESS_LOCK:
                clients = _PROCESS_CLIENTS.get(key)
                if clients is None:
                    clients = _PROCESS_CLIENTS[key] = build_clients(self.spec())
            self._clients = clients
        return self._clients

    @property
    def settings(self) -> Settings:
        return self.clients.settings

    @property
    def redactor(self) -> Redactor:
        return self.clients.redactor

    @property
    def model(self) -> ChatModel | None:
        return self.clients.model

    @property
    def logs(self) -> LogSource | None:
        return self.clients.logs

    @property
    def codehost(self) -> CodeHost | None:
        return self.clients.codehost

    @property
    def deployer(self) -> Deployer | None:
        return self.clients.deployer

    @property
    def notifier(self) -> Notifier | None:
        return self.clients.notifier

    def close(self) -> None:
        """Close what this context built for itself (a process-wide bundle stays for the next run)."""
        if self._clients is not None and self._clients not in _PROCESS_CLIENTS.values():
            self._clients.close()

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
