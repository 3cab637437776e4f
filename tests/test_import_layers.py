"""The import layers (``[tool.importlinter]`` in pyproject.toml) hold: faces > runs > graphs > agents >
tools/integrations > state > records. A module that imports upwards fails this test, so the suite keeps it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, cli_env


def _lint_imports() -> str:
    found = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if found is None:
        pytest.fail("the `lint-imports` command is missing: pip install -e '.[dev]' (import-linter)")
    return found


def test_import_layers_contract_is_kept() -> None:
    proc = subprocess.run(
        [_lint_imports(), "--no-cache", str(PROJECT_ROOT / "pyproject.toml")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT,
        env=cli_env(),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "Contracts: 1 kept, 0 broken." in proc.stdout, proc.stdout[-3000:]
