from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.large_suite import INDEX_P1, generate_large_suite
from fixloop.config import Settings, TestSettings
from fixloop.records import Selection
from fixloop.tools.select_tests import select_tests
from tests.tools.conftest import write_files

SUITE = {
    "tests/e2e/staging/test_1_websocket_events_staging.py": '''
        """WebSocket event flow against the running target."""
        import websockets_helpers_that_do_not_exist  # collect-only fails on this file
        WS_URL = "ws://127.0.0.1:8765/ws"

        async def test_websocket_connection():
            pass

        async def test_event_flow():
            assert "agent_started"
    ''',
    "tests/mission_critical/test_websocket_agent_events_suite.py": """
        class TestEvents:
            def test_all_five_events(self):
                pass
    """,
    "tests/e2e/integration/test_staging_complete_e2e.py": """
        def test_signup():
            pass

        def test_profile():
            pass

        def test_chat_over_ws():
            url = "ws://127.0.0.1:8765/ws"
    """,
    "tests/e2e/staging/test_3_agent_pipeline_staging.py": """
        import pytest

        @pytest.mark.staging
        def test_agent_pipeline():
            assert "wss://staging.example/ws"
    """,
    "tests/e2e/staging/test_7_billing_staging.py": """
        def test_invoice_totals():
            assert "news" != "laws"
    """,
    "tests/unit/test_ws_frames.py": """
        def test_encode_frame():
            pass
    """,
    "tests/unit/test_config.py": """
        def test_defaults():
            pass
    """,
}


def tier_paths(selection: Selection) -> dict[int, list[str]]:
    return {t.priority: [f.path for f in t.files] for t in selection.tiers}


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    return write_files(tmp_path / "repo", SUITE)


def test_websockets_focus_ranks_core_e2e_first_and_leaves_unrelated_out(suite: Path) -> None:
    selection = select_tests(suite, "websockets", Settings())
    tiers = tier_paths(selection)
    assert tiers[1] == [
        "tests/e2e/staging/test_1_websocket_events_staging.py",
        "tests/mission_critical/test_websocket_agent_events_suite.py",
    ]
    assert tiers[2] == ["tests/e2e/integration/test_staging_complete_e2e.py"]
    assert tiers[3] == ["tests/e2e/staging/test_3_agent_pipeline_staging.py"]
    assert tiers[4] == ["tests/unit/test_ws_frames.py"]
    everything = [p for paths in tiers.values() for p in paths]
    assert "tests/e2e/staging/test_7_billing_staging.py" not in everything
    assert "tests/unit/test_config.py" not in everything
    core = selection.tiers[0].files[0]
    assert "file name mentions 'websocket'" in core.reason and core.score > selection.tiers[1].files[0].score
    assert core.tests == [
        "tests/e2e/staging/test_1_websocket_events_staging.py::test_websocket_connection",
        "tests/e2e/staging/test_1_websocket_events_staging.py::test_event_flow",
    ]
    # only the matching test of a file that is mostly about something else
    chat_test = "tests/e2e/integration/test_staging_complete_e2e.py::test_chat_over_ws"
    assert selection.tiers[1].files[0].tests == [chat_test]


def test_selection_works_where_collect_only_fails(suite: Path) -> None:
    collect = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests/e2e/staging"],
        cwd=suite,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert collect.returncode != 0 and "websockets_helpers_that_do_not_exist" in collect.stdout
    selection = select_tests(suite, "ws", Settings())
    assert tier_paths(selection)[1][0] == "tests/e2e/staging/test_1_websocket_events_staging.py"


def test_synonyms_select_the_same_files(suite: Path) -> None:
    spellings = ("websocket", "ws", "wss")
    results = {spelling: tier_paths(select_tests(suite, spelling, Settings())) for spelling in spellings}
    assert results["websocket"] == results["ws"] == results["wss"]


def test_unknown_focus_is_an_empty_selection_with_a_message(suite: Path) -> None:
    selection = select_tests(suite, "kubernetes", Settings())
    assert selection.tiers == []
    assert "no test matches focus 'kubernetes'" in selection.message
    assert selection.test_targets() == []


def test_multi_word_focus_prefers_files_covering_every_word(tmp_path: Path) -> None:
    repo = write_files(
        tmp_path,
        {
            "tests/e2e/test_websocket_auth.py": "def test_bad_token_rejected():\n    pass\n",
            "tests/e2e/test_websocket_events.py": "def test_events():\n    pass\n",
            "tests/e2e/test_login_auth.py": "def test_login():\n    pass\n",
        },
    )
    selection = select_tests(repo, "websockets auth", Settings())
    first = selection.tiers[0].files
    assert first[0].path == "tests/e2e/test_websocket_auth.py"
    assert "covers every focus word" in first[0].reason
    assert {f.path for f in first} == {
        "tests/e2e/test_websocket_auth.py",
        "tests/e2e/test_websocket_events.py",
        "tests/e2e/test_login_auth.py",
    }


INDEX = """
# Staging E2E Test Index

| Priority | File | Tests | Business Impact | MRR at Risk |
|----------|------|-------|-----------------|-------------|
| **P1 Critical** | `test_1_websocket_events_staging.py` | 2 | Chat delivery | $500K+ ARR |
| **P2 High** | `test_staging_complete_e2e.py` | 2 | Key features | $80K |

### Environment Variables Required
- `CHAT_WS_URL`, `CHAT_JWT_SECRET`

### Success Criteria
- All P1 tests must pass (0% failure tolerance)
- P2 tests: <5% failure rate
- P3-P4 tests: <10% failure rate
"""


def test_index_sets_tolerance_impact_and_required_env(suite: Path) -> None:
    (suite / "tests" / "e2e" / "STAGING_E2E_TEST_INDEX.md").write_text(INDEX)
    selection = select_tests(suite, "websockets", Settings())
    assert selection.index_path == "tests/e2e/STAGING_E2E_TEST_INDEX.md"
    by_priority = {t.priority: t for t in selection.tiers}
    assert by_priority[1].tolerance == 0.0 and "$500K+ ARR" in by_priority[1].impact
    assert by_priority[2].tolerance == 0.05 and "$80K" in by_priority[2].impact
    assert by_priority[3].tolerance == 0.10
    assert selection.required_env == ["CHAT_WS_URL", "CHAT_JWT_SECRET"]
    # listed in the index: the whole file is taken, not just the matching test
    integration = by_priority[2].files[0]
    assert integration.path == "tests/e2e/integration/test_staging_complete_e2e.py"
    assert len(integration.tests) == 3 and "index P2: Key features" in integration.reason


def test_configured_index_path_and_test_roots(suite: Path) -> None:
    (suite / "docs").mkdir()
    (suite / "docs" / "tests.md").write_text(INDEX)
    settings = Settings(tests=TestSettings(index_path="docs/tests.md", paths=["tests/unit"]))
    selection = select_tests(suite, "websockets", settings)
    assert selection.index_path == "docs/tests.md"
    assert tier_paths(selection) == {4: ["tests/unit/test_ws_frames.py"]}


def test_a_large_suite_keeps_p1_to_the_index_s_p1_files_and_a_handful_more(tmp_path: Path) -> None:
    root = generate_large_suite(tmp_path / "suite")
    selection = select_tests(root, "websockets", Settings())
    p1 = [f.path for t in selection.tiers if t.priority == 1 for f in t.files]
    assert len(p1) <= 8 and set(INDEX_P1) <= set(p1)
    assert sum(len(t.files) for t in selection.tiers if t.priority <= 3) <= 20
    assert sum(len(t.files) for t in selection.tiers) == 120  # the rest stays, lower, with its reason
    moved = [f for t in selection.tiers if t.priority > 3 for f in t.files if "over the P1-P3 budget" in f.reason]
    assert moved


def test_recorded_durations_fill_the_first_phase_budget(tmp_path: Path) -> None:
    root = generate_large_suite(tmp_path / "suite")
    (root / ".fixloop").mkdir()
    slow = {f"{rel}::test_websocket_case_0": 30.0 for rel in INDEX_P1}
    (root / ".fixloop" / "durations.json").write_text(json.dumps(slow), encoding="utf-8")
    settings = Settings(tests=TestSettings(p1_budget_seconds=60.0))
    p1 = [f.path for t in select_tests(root, "websockets", settings).tiers if t.priority == 1 for f in t.files]
    # two slow P1 files fill 60 s; files without a recorded duration still count against the file cap
    assert sum(rel in p1 for rel in INDEX_P1) == 2
