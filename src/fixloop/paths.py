"""Where fixloop keeps its own files (run store, checkpoints, PR records)."""

from __future__ import annotations

import os
from pathlib import Path


def fixloop_home() -> Path:
    """``$FIXLOOP_HOME`` or ``~/.fixloop``; created on first use."""
    raw = os.environ.get("FIXLOOP_HOME")
    home = Path(raw).expanduser() if raw else Path.home() / ".fixloop"
    home.mkdir(parents=True, exist_ok=True)
    return home


def package_root() -> Path:
    """The installed ``fixloop`` package directory."""
    return Path(__file__).resolve().parent


def project_root() -> Path | None:
    """The source checkout holding ``examples/`` and ``evals/``, when fixloop runs from one.

    ``$FIXLOOP_PROJECT_ROOT`` wins; otherwise the checkout around an editable install.
    """
    raw = os.environ.get("FIXLOOP_PROJECT_ROOT")
    if raw:
        return Path(raw).resolve()
    candidate = package_root().parent.parent
    if (candidate / "examples").is_dir() and (candidate / "pyproject.toml").is_file():
        return candidate
    return None
