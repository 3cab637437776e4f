"""Log sources: ``file`` (JSON lines in LogEntry shape) and ``cloud-logging`` (google-cloud-logging)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fixloop.config import Settings
from fixloop.errors import ConfigError
from fixloop.interfaces import LogSource


def _file_source(settings: Settings, repo: Path) -> LogSource | None:
    from fixloop.integrations.logs.file import FileLogSource

    if not settings.logs.path:
        return None
    path = Path(settings.logs.path).expanduser()
    return FileLogSource(path if path.is_absolute() else repo / path)


def _cloud_source(settings: Settings, repo: Path) -> LogSource | None:
    from fixloop.integrations.logs.cloud_logging import CloudLoggingSource

    if not settings.logs.project:
        raise ConfigError("logs.backend is 'cloud-logging' but logs.project is not set", hint="set logs.project")
    return CloudLoggingSource.connect(
        project=settings.logs.project, endpoint=settings.logs.endpoint, credentials_env=settings.logs.credentials_env
    )


LOG_BACKENDS: dict[str, Callable[[Settings, Path], LogSource | None]] = {
    "file": _file_source,
    "cloud-logging": _cloud_source,
}


def build_log_source(settings: Settings, repo: Path) -> LogSource | None:
    """The configured backend (a string registry), or None when no logs are configured."""
    try:
        factory = LOG_BACKENDS[settings.logs.backend]
    except KeyError:
        known = ", ".join(LOG_BACKENDS)
        raise ConfigError(f"unknown logs.backend {settings.logs.backend!r}", hint=f"one of {known}") from None
    return factory(settings, repo)
