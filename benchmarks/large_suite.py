"""A generated large e2e suite for selection: 300 test files, 120 mention the focus, an index naming 3 P1 files.

Shaped like the seed's repository: many files mention "websocket" in passing, a few are the ones an
engineer runs first (named P1 by the index), some carry markers (staging, e2e, integration, critical).
"""

from __future__ import annotations

import random
from pathlib import Path

INDEX_P1 = (
    "tests/e2e/staging/test_websocket_events_staging.py",
    "tests/e2e/critical/test_websocket_auth_critical.py",
    "tests/e2e/test_websocket_reconnect.py",
)
FOLDERS = ("e2e", "e2e/staging", "integration", "unit", "api", "services", "e2e/critical")
MARKERS = ("staging", "e2e", "integration", "critical", "slow")
SUBJECTS = ("billing", "profile", "search", "upload", "export", "admin", "teams", "audit")


def _test_file(subject: str, mentions: bool, marker: str | None, rng: random.Random) -> str:
    lines = [f'"""Tests of the {subject} feature."""', "import pytest", ""]
    if marker:
        lines += [f"pytestmark = pytest.mark.{marker}", ""]
    if mentions:
        lines += ['WS_URL = "ws://127.0.0.1:8765/ws"  # the websocket endpoint', ""]
    for i in range(rng.randint(3, 8)):
        lines += [f"def test_{subject}_case_{i}():", f"    assert '{subject}' != 'x{i}'", ""]
    return "\n".join(lines)


def generate_large_suite(root: Path, *, files: int = 300, mentioning: int = 120, seed: int = 11) -> Path:
    """Write the suite and its ``tests/TEST_INDEX.md`` under ``root``; return ``root``."""
    rng = random.Random(seed)
    chosen = set(rng.sample(range(files - len(INDEX_P1)), mentioning - len(INDEX_P1)))
    for rel in INDEX_P1:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_test_file("websocket", True, "staging", rng), encoding="utf-8")
    for i in range(files - len(INDEX_P1)):
        mentions = i in chosen
        subject = "websocket" if mentions and rng.random() < 0.5 else rng.choice(SUBJECTS)
        marker = rng.choice(MARKERS) if rng.random() < 0.3 else None
        folder = root / "tests" / rng.choice(FOLDERS) / f"area{i % 12}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"test_{subject}_{i}.py").write_text(_test_file(subject, mentions, marker, rng), encoding="utf-8")
    rows = "\n".join(f"| **P1 Critical** | `{rel}` | 5 | Core chat | $120K+ |" for rel in INDEX_P1)
    (root / "tests" / "TEST_INDEX.md").write_text(
        "# E2E Test Index\n\n| Priority | File | Tests | Business Impact | MRR at Risk |\n"
        "|----------|------|-------|-----------------|-------------|\n" + rows + "\n\n### Success Criteria\n"
        "- All P1 tests must pass (0% failure tolerance)\n- P2 tests: <5% failure rate\n",
        encoding="utf-8",
    )
    return root
