"""Atomic file writes, safe for any number of writers at once.

Each writer writes a temporary file of its own (``tempfile.mkstemp`` in the target's folder:
unique per call, not per process, so two threads never share one) and moves it over the
target with ``os.replace``: a reader sees the old or the new file, never half of one, and
the last writer wins.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

FILE_MODE = 0o644  # what a plain write gives under the usual umask 022


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)  # mkstemp's 0600 would make run.json unreadable to the team's other accounts
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))
