"""Secrets never at rest in clear: what fixloop keeps of a test run is redacted before it is kept.

Two places: the files pytest wrote into OUT (console output, JUnit XML, fixloop's JSON-lines report),
rewritten redacted as soon as the run ends, before they are copied and hashed into ``OUT/artifacts``
(so ``fixloop verify`` checks what is kept); and the ``TestRun`` record, whose texts (longrepr,
captured output and logs, collection errors, the output tail) are redacted before the record enters
the graph's state, and so the checkpoint store. The redactor is the run's: secret-named env values,
the target's own token secret, JWTs (``Bearer eyJ…``) and API keys.

With ``[redaction] keep_raw_output = true`` the raw console output is kept, once, in a 0600 file under
``FIXLOOP_HOME/raw-output/`` (outside OUT, never copied, never hashed, never sent anywhere).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fixloop.paths import fixloop_home
from fixloop.records import TestResult, TestRun
from fixloop.redaction import Redactor

OUTPUT_FILES = ("pytest-output.txt", "junit.xml", "fixloop-report.jsonl")
RAW_OUTPUT_DIR = "raw-output"


def redact_file(path: Path, redactor: Redactor) -> bool:
    """Rewrite ``path`` redacted (atomically, bytes that are not UTF-8 kept as they are); True if it changed."""
    data = path.read_bytes()
    text = data.decode("utf-8", "surrogateescape")
    clean = redactor.redact(text)
    if clean == text:
        return False
    tmp = path.with_name(f".{path.name}.redacting")
    tmp.write_bytes(clean.encode("utf-8", "surrogateescape"))
    os.chmod(tmp, path.stat().st_mode & 0o777)
    tmp.replace(path)
    return True


def keep_raw_output(folder: Path, raw_dir: Path, label: str) -> Path | None:
    """Copy the folder's raw console output to ``raw_dir/<label>-pytest-output.txt``, readable by its owner only."""
    source = folder / "pytest-output.txt"
    if not source.is_file():
        return None
    raw_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    dest = raw_dir / f"{label}-pytest-output.txt"
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(source.read_bytes())
    os.chmod(dest, 0o600)
    return dest


def redact_outputs(folder: Path, redactor: Redactor, *, raw_dir: Path | None = None, label: str = "") -> None:
    """Redact in place the files pytest wrote into ``folder`` and below (one per pytest round), keeping the raw
    console output first when asked."""
    if raw_dir is not None:
        keep_raw_output(folder, raw_dir, label or folder.name)
    for name in OUTPUT_FILES:
        for path in sorted(folder.rglob(name)):
            if path.is_file():
                redact_file(path, redactor)


def _redact_result(result: TestResult, redactor: Redactor) -> TestResult:
    r = redactor.redact
    return result.model_copy(
        update={
            "longrepr": r(result.longrepr),
            "stdout": r(result.stdout),
            "stderr": r(result.stderr),
            "log": r(result.log),
            "skip_reason": r(result.skip_reason),
        }
    )


def redact_test_run(test_run: TestRun, redactor: Redactor) -> TestRun:
    """The record with every text it carries redacted (what the state and the checkpoints keep)."""
    return test_run.model_copy(
        update={
            "results": [_redact_result(result, redactor) for result in test_run.results],
            "collection_errors": [redactor.redact(e) for e in test_run.collection_errors],
            "stdout_tail": redactor.redact(test_run.stdout_tail),
        }
    )


def seal_test_run(
    test_run: TestRun, folder: Path, redactor: Redactor, *, raw_dir: Path | None = None, label: str = ""
) -> TestRun:
    """Both at once for a run that wrote into ``folder``: its files, then its record."""
    redact_outputs(folder, redactor, raw_dir=raw_dir, label=label)
    return redact_test_run(test_run, redactor)


def raw_output_dir(ctx: Any) -> Path | None:
    """Where a run keeps its raw console output when its settings ask for it (``None``: not kept)."""
    if not ctx.settings.redaction.keep_raw_output:
        return None
    return fixloop_home() / RAW_OUTPUT_DIR / ctx.thread_id
