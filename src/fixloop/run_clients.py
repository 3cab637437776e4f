"""The clients of one run, built from plain settings names (the edge of the system).

``RunContext`` (``context.py``) holds only JSON-able fields; the first time a node asks for a
client, the process builds them all here from those fields: the settings (the repo's file, the
``--config`` file, the run's llm mode, prices and limits), the redactor, the model, the log source,
the code host and the deployer. The CLI, ``serve`` and LangGraph Server all build them this way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fixloop.config import Settings, load_settings
from fixloop.errors import FixloopError
from fixloop.interfaces import ChatModel, CodeHost, Deployer, LogSource, Notifier
from fixloop.redaction import Redactor


@dataclass
class Clients:
    settings: Settings
    redactor: Redactor
    model: ChatModel | None = None
    logs: LogSource | None = None
    codehost: CodeHost | None = None
    deployer: Deployer | None = None
    notifier: Notifier | None = None

    def close(self) -> None:
        close = getattr(self.model, "close", None)
        if callable(close):
            close()


def run_settings(spec: Mapping[str, Any]) -> Settings:
    """The run's settings: the repo's (and ``config_file``'s), with the run's llm mode, prices and limits."""
    config = Path(spec["config_file"]) if spec.get("config_file") else None
    settings = load_settings(Path(spec["repo"]), config)
    prices = {**settings.llm.prices, **(spec.get("prices") or {})}
    llm = {"mode": spec.get("llm") or "none", "prices": prices}
    updates: dict[str, Any] = {"llm": type(settings.llm).model_validate({**settings.llm.model_dump(), **llm})}
    if spec.get("max_iterations"):
        updates["limits"] = settings.limits.model_copy(update={"max_iterations": spec["max_iterations"]})
    return settings.model_copy(update=updates)


def run_redactor(repo: Path, settings: Settings) -> Redactor:
    """A redactor for every secret this run could meet: the settings' names, the target's test env, the model key."""
    from fixloop.target import available_test_env
    from fixloop.target_test_env import secret_test_env_names

    secret_names = [
        *settings.redaction.secret_env_names,
        *secret_test_env_names(settings.target),
        settings.llm.api_key_env,
    ]
    try:  # the running target's token secret lives in its state file, not in this process's env
        target_env = available_test_env(repo, settings.target)
    except FixloopError:
        target_env = {}
    return Redactor(env={**os.environ, **target_env}, secret_env_names=secret_names)


def build_clients(spec: Mapping[str, Any], *, notifier: Notifier | None = None) -> Clients:
    """Every client of the run described by ``spec`` (the keys of ``RunContext``'s fields)."""
    from fixloop.integrations.codehost import build_codehost
    from fixloop.integrations.deploy import build_deployer
    from fixloop.integrations.llm import build_model
    from fixloop.integrations.logs import build_log_source

    repo = Path(spec["repo"])
    settings = run_settings(spec)
    redactor = run_redactor(repo, settings)
    model = build_model(settings, scenario=spec.get("scenario")) if settings.llm.mode != "none" else None
    needs_host = model is not None and spec.get("stop_at") in ("pr", "merge", None)
    return Clients(
        settings=settings,
        redactor=redactor,
        model=model,
        logs=build_log_source(settings, repo),
        codehost=build_codehost(settings, repo) if needs_host else None,
        deployer=build_deployer(settings, repo) if needs_host else None,
        notifier=notifier,
    )
