"""Every configuration key of the service, defined once, read from the environment at startup."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

HOST_ENV = "CHAT_HOST"
PORT_ENV = "CHAT_PORT"
JWT_SECRET_ENV = "CHAT_JWT_SECRET"
LOG_FILE_ENV = "CHAT_LOG_FILE"
REVISION_ENV = "CHAT_REVISION"
SERVICE_NAME_ENV = "CHAT_SERVICE_NAME"
TOOL_DELAY_MS_ENV = "CHAT_TOOL_DELAY_MS"
AGENT_MODEL_ENV = "CHAT_AGENT_MODEL"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_SERVICE_NAME = "chatbackend"
DEFAULT_REVISION = "unknown"
DEFAULT_TOOL_DELAY_MS = 50.0
DEFAULT_AGENT_MODEL = "calculator-v1"

REQUIRED_ENV = (JWT_SECRET_ENV,)

_Num = TypeVar("_Num", int, float)


class ConfigError(Exception):
    """A required setting is missing or malformed."""


@dataclass(frozen=True)
class Config:
    host: str
    port: int
    jwt_secret: str
    log_file: str | None
    revision: str
    service_name: str
    tool_delay_ms: float
    agent_model: str


def service_name(environ: Mapping[str, str]) -> str:
    return environ.get(SERVICE_NAME_ENV) or DEFAULT_SERVICE_NAME


def revision(environ: Mapping[str, str]) -> str:
    return environ.get(REVISION_ENV) or DEFAULT_REVISION


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate the configuration; ``ConfigError`` names the missing or bad variable."""
    env = os.environ if environ is None else environ
    missing = [name for name in REQUIRED_ENV if not env.get(name)]
    if missing:
        raise ConfigError(f"required environment variable(s) not set: {', '.join(missing)}")
    return Config(
        host=env.get(HOST_ENV) or DEFAULT_HOST,
        port=_number(env, PORT_ENV, DEFAULT_PORT, int),
        jwt_secret=env[JWT_SECRET_ENV],
        log_file=env.get(LOG_FILE_ENV) or None,
        revision=revision(env),
        service_name=service_name(env),
        tool_delay_ms=_number(env, TOOL_DELAY_MS_ENV, DEFAULT_TOOL_DELAY_MS, float),
        agent_model=env.get(AGENT_MODEL_ENV) or DEFAULT_AGENT_MODEL,
    )


def _number(env: Mapping[str, str], name: str, default: _Num, kind: type[_Num]) -> _Num:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a {kind.__name__}, got {raw!r}") from None
