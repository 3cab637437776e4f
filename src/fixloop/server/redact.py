"""The redaction every outgoing chat text goes through."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from fixloop.config import Settings
from fixloop.errors import NotReadyError
from fixloop.server.secrets import ServerSecrets

log = logging.getLogger("fixloop.server")
MASK = "[REDACTED]"


def build_redactor(settings: Settings, secrets: ServerSecrets) -> Callable[[str], str]:
    """``fixloop.redaction.Redactor`` (JWTs, tokens, secret env values), plus this server's own secrets."""
    names = [*settings.redaction.secret_env_names, *vars(secrets.names).values()]
    own = sorted(secrets.values(), key=len, reverse=True)
    general: Callable[[str], str] | None
    try:
        from fixloop.redaction import Redactor

        general = Redactor(env=os.environ, secret_env_names=names).redact
    except NotReadyError:
        log.warning("fixloop.redaction is not available yet: masking only the server's own secrets")
        general = None

    def redact(text: str) -> str:
        out = general(text) if general else text
        for value in own:
            out = out.replace(value, MASK)
        return out

    return redact
