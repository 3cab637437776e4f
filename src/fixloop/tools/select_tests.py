"""Select and rank the tests of a repository for a focus area, in priority tiers."""

from __future__ import annotations

from pathlib import Path

from fixloop.config import Settings
from fixloop.errors import NotReadyError
from fixloop.records import Selection


def select_tests(repo: Path, focus: str, settings: Settings) -> Selection:
    """Tiers of files/test ids for ``focus``, from the test index and a static (AST) scan."""
    raise NotReadyError("test selection lands with issue #3")
