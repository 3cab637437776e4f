from __future__ import annotations

from pathlib import Path

import pytest

from fixloop.config import load_settings
from fixloop.errors import ConfigError


def test_defaults_without_a_file(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings.logs.backend == "file"
    assert settings.approval.four_eyes is True
    assert settings.llm.mode == "none"


def test_fixloop_toml_is_read(tmp_path: Path) -> None:
    (tmp_path / "fixloop.toml").write_text('[approval]\napprovers = ["alice", "bob"]\n[limits]\nmax_iterations = 5\n')
    settings = load_settings(tmp_path)
    assert settings.approval.approvers == ["alice", "bob"]
    assert settings.limits.max_iterations == 5


def test_pyproject_tool_table_is_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.fixloop.target]\nhttp_url = "http://127.0.0.1:9999"\n')
    assert load_settings(tmp_path).target.http_url == "http://127.0.0.1:9999"


def test_env_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "fixloop.toml").write_text("[limits]\nmax_iterations = 5\n")
    monkeypatch.setenv("FIXLOOP_LIMITS__MAX_ITERATIONS", "7")
    assert load_settings(tmp_path).limits.max_iterations == 7


def test_wrong_type_names_key_file_and_type(tmp_path: Path) -> None:
    (tmp_path / "fixloop.toml").write_text('[limits]\nmax_iterations = "many"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path)
    text = info.value.one_line()
    assert "limits.max_iterations" in text
    assert "fixloop.toml" in text
    assert "integer" in text


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "fixloop.toml").write_text("[logs]\nbackend = 'file'\nbakend = 'x'\n")
    with pytest.raises(ConfigError, match=r"logs\.bakend"):
        load_settings(tmp_path)


def test_malformed_toml_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "fixloop.toml").write_text("[limits\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(tmp_path)
