"""The auditor on the bundled example target: every scenario's gold patch passes; SSOT-breaking
"fixes" of the same faults fail with the right check."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fixloop.agents.auditor import audit_patch
from fixloop.scenarios import list_scenarios, load_scenario, prepare_workspace

SCENARIOS = [s.name for s in list_scenarios()]


def workspace(tmp_path: Path, name: str) -> Path:
    return prepare_workspace(tmp_path / "ws", load_scenario(name))


def diff_of(repo: Path, rel: str, old: str, new: str) -> str:
    path = repo / rel
    text = path.read_text()
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1))
    patch = subprocess.run(["git", "-C", str(repo), "diff"], capture_output=True, text=True, check=True).stdout
    subprocess.run(["git", "-C", str(repo), "checkout", "--", rel], check=True)
    return patch


def test_there_are_scenarios() -> None:
    assert len(SCENARIOS) >= 5


@pytest.mark.parametrize("name", SCENARIOS)
def test_gold_patch_passes_the_audit(tmp_path: Path, name: str) -> None:
    repo = workspace(tmp_path, name)
    result = audit_patch(load_scenario(name).gold_patch.read_text(), repo)
    assert result.passed, result.findings


def test_fixing_the_diverged_copy_instead_of_removing_it_fails(tmp_path: Path) -> None:
    repo = workspace(tmp_path, "renamed-event")
    patch = diff_of(
        repo, "chatbackend/agent.py", 'TOOL_COMPLETED = "tool_complete"', 'TOOL_COMPLETED = "tool_completed"'
    )
    result = audit_patch(patch, repo)
    assert [f.check for f in result.findings] == ["duplicate-constant"]
    assert "chatbackend/events.py" in result.findings[0].message


def test_reading_the_env_var_again_instead_of_using_config_fails(tmp_path: Path) -> None:
    repo = workspace(tmp_path, "missing-env")
    patch = diff_of(
        repo,
        "chatbackend/config.py",
        "agent_model=env[AGENT_MODEL_ENV],",
        'agent_model=env.get("CHAT_AGENT_MODEL", "calculator-v1"),',
    )
    result = audit_patch(patch, repo)
    assert "duplicate-config-key" in [f.check for f in result.findings]
    assert any("AGENT_MODEL_ENV" in f.message for f in result.findings)


def test_skipping_the_fake_test_instead_of_fixing_it_fails(tmp_path: Path) -> None:
    repo = workspace(tmp_path, "fake-test")
    rel = "tests/e2e/staging/test_1_websocket_events_staging.py"
    patch = diff_of(
        repo,
        rel,
        "def test_websocket_event_flow_real(",
        '@pytest.mark.skip(reason="too slow")\ndef test_websocket_event_flow_real(',
    )
    result = audit_patch(patch, repo)
    assert [(f.check, f.file) for f in result.findings] == [("added-skip", rel)]
