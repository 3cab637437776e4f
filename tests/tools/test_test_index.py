from __future__ import annotations

from pathlib import Path

import pytest

from fixloop.errors import UsageError
from fixloop.tools.test_index import find_index, parse_index

INDEX = """
# Chat E2E Test Index

| Priority | File | Tests | Business Impact | MRR at Risk |
|----------|------|-------|-----------------|-------------|
| **P1 Critical** | `test_priority1_critical.py` | 10 | Core chat | $120K+ |
| **P2 High** | `test_priority2_high.py` | 8 | Key features | $80K |

#### Core Tests (`tests/e2e/`)
- `test_1_websocket_events.py` - WebSocket event flow (5 tests)
- `test_9_billing.py` - Invoices

### Environment Variables Required
```bash
export CHAT_WS_URL="ws://..."
export CHAT_JWT_SECRET="..."
pytest tests/e2e -m "staging and not local_only"
```

### Success Criteria
- All P1 tests must pass (0% failure tolerance)
- P2 tests: <5% failure rate
- P3-P4 tests: <10% failure rate
- Response time: <2s for 95th percentile
"""


def test_index_yields_files_priorities_impact_tolerance_env_markers() -> None:
    index = parse_index(INDEX, "tests/TEST_INDEX.md")
    files = [e.file for e in index.entries]
    assert files == [
        "test_priority1_critical.py",
        "test_priority2_high.py",
        "test_1_websocket_events.py",
        "test_9_billing.py",
    ]
    assert index.entries[0].priority == 1 and "$120K+" in index.entries[0].impact
    assert index.entries[2].test_count == 5 and "WebSocket event flow" in index.entries[2].description
    assert index.tolerances == {1: 0.0, 2: 0.05, 3: 0.10, 4: 0.10}
    assert "$120K+" in index.impacts[1] and "$80K" in index.impacts[2]
    assert index.required_env == ["CHAT_WS_URL", "CHAT_JWT_SECRET"]
    assert index.markers == ["staging"]


def test_lookup_matches_by_basename_and_folder_hint() -> None:
    index = parse_index(INDEX)
    entry = index.lookup("tests/e2e/test_1_websocket_events.py")
    assert entry is not None and entry.dir_hint == "tests/e2e/"
    assert index.lookup("tests/e2e/test_other.py") is None


def test_find_index_under_test_roots_and_configured_path(tmp_path: Path) -> None:
    (tmp_path / "tests" / "e2e").mkdir(parents=True)
    assert find_index(tmp_path, None, ["tests"]) is None
    idx = tmp_path / "tests" / "e2e" / "STAGING_E2E_TEST_INDEX.md"
    idx.write_text(INDEX)
    assert find_index(tmp_path, None, ["tests"]) == idx
    with pytest.raises(UsageError, match="does not exist"):
        find_index(tmp_path, "docs/missing.md", ["tests"])


SECTIONED = """
# E2E index

**Required env vars** (all tiers): `SVC_URL`

## Priority 1: Core Socket Flow (P1)
**Business impact**: $300K MRR at risk — chat is down
**Failure tolerance**: 0%
**Markers**: `staging`, `websocket`
**Required env vars**: `SVC_URL`, `SVC_SECRET`
- `tests/e2e/test_socket_flow.py`

## Priority 2: Invoices (P2)
**Business impact**: $10K MRR at risk
**Failure tolerance**: < 15%
**Markers**: `staging`, `billing`
- `tests/e2e/test_invoices.py`
"""


def test_sectioned_index_with_bold_fields() -> None:
    index = parse_index(SECTIONED)
    assert index.names == {1: "Core Socket Flow", 2: "Invoices"}
    assert index.impacts == {1: "$300K MRR at risk — chat is down", 2: "$10K MRR at risk"}
    assert index.tolerances == {1: 0.0, 2: 0.15}
    assert index.required_env == ["SVC_URL", "SVC_SECRET"]
    assert index.markers == ["staging", "websocket", "billing"]
    socket_entry, invoices = index.entries
    assert (socket_entry.file, socket_entry.priority, socket_entry.markers) == (
        "tests/e2e/test_socket_flow.py", 1, ["staging", "websocket"],
    )  # fmt: skip
    assert (invoices.priority, invoices.markers) == (2, ["staging", "billing"])
