"""``[target.test_env]``: how the target's URLs and secrets reach its tests.

A declared mapping from the env var names the tests read to templates over the target's values::

    [target.test_env]
    CHAT_HTTP_URL = "{http_url}"
    CHAT_WS_URL = "{ws_url}"
    CHAT_TOKEN = "{token}"        # the value of the env var named by [target] token_env

Placeholders: ``{http_url}``, ``{ws_url}`` (the running target's, else ``[target]``'s), ``{secret}`` (the
token signing secret: the started target's, else the env var named by ``token_secret_env``) and ``{token}``
(the env var named by ``token_env``). Files hold templates, never secret values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from fixloop.config import TargetSettings
from fixloop.config import template_fields as placeholders
from fixloop.errors import ConfigError

SECRET_PLACEHOLDERS = ("secret", "token")


def secret_test_env_names(target: TargetSettings) -> list[str]:
    """Names of the tests' env vars that carry a secret (for the redactor)."""
    names = [name for name, template in target.test_env.items() if placeholders(template) & set(SECRET_PLACEHOLDERS)]
    return [target.token_secret_env, *([target.token_env] if target.token_env else []), *names]


def render_test_env(
    target: TargetSettings,
    *,
    http_url: str,
    ws_url: str,
    secret: str | None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The tests' env: ``[target] env``, the signing secret under its own name, then ``[target.test_env]``.

    A template needing a value that is not there (no secret, token env var unset) is a one-line ConfigError.
    """
    environ = os.environ if environ is None else environ
    token = environ.get(target.token_env, "") if target.token_env else ""
    values = {"http_url": http_url, "ws_url": ws_url, "secret": secret or "", "token": token}
    env = dict(target.env)
    if secret:
        env[target.token_secret_env] = secret
    for name, template in target.test_env.items():
        for needed in placeholders(template):
            if not values.get(needed):
                raise ConfigError(
                    f"[target.test_env] {name} needs {{{needed}}}, which has no value",
                    hint=_hint(target, needed),
                )
        env[name] = template.format_map(values)
    return env


def configured_test_env(target: TargetSettings, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The tests' env for a target fixloop did not start (a staging service): ``[target]``'s URLs, secrets
    from the environment."""
    environ = os.environ if environ is None else environ
    secret = environ.get(target.token_secret_env) or None
    return render_test_env(target, http_url=target.http_url, ws_url=target.ws_url, secret=secret, environ=environ)


def _hint(target: TargetSettings, needed: str) -> str:
    if needed == "token":
        return f"export {target.token_env}" if target.token_env else "set [target] token_env to the token's env var"
    if needed == "secret":
        return f"export {target.token_secret_env}, or start the target with fixloop target up"
    return f"set [target] {needed}"
