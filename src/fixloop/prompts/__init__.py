"""Prompt templates are files in this folder, rendered with Jinja2's StrictUndefined."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, UndefinedError

from fixloop.errors import FixloopError

PROMPTS_DIR = Path(__file__).resolve().parent


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(PROMPTS_DIR),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # plain-text prompts, not HTML
    )


def render(name: str, **variables: Any) -> str:
    """Render ``prompts/<name>`` (e.g. ``"five_whys.md.j2"``); a missing variable is an error."""
    try:
        return _environment().get_template(name).render(**variables)
    except TemplateNotFound:
        raise FixloopError(f"prompt template {name!r} does not exist in {PROMPTS_DIR}") from None
    except UndefinedError as exc:
        raise FixloopError(f"prompt template {name!r}: {exc.message}") from None
