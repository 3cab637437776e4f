"""Code hosts: ``local`` (a bare git remote + PR records in the store) and ``github`` (PyGithub)."""

from __future__ import annotations

from pathlib import Path

from fixloop.config import Settings
from fixloop.errors import NotReadyError
from fixloop.interfaces import CodeHost


def build_codehost(settings: Settings, repo: Path) -> CodeHost:
    raise NotReadyError("code hosts land with issue #6")
