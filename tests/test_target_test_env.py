"""``[target.test_env]``: the target's URLs and secrets reach its tests through a declared mapping."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from fixloop.config import TargetSettings, load_settings
from fixloop.errors import ConfigError
from fixloop.scenarios import load_scenario, prepare_workspace
from fixloop.target import available_test_env, start_target, stop_target, test_env
from fixloop.target_test_env import configured_test_env, render_test_env, secret_test_env_names
from tests.conftest import CliRunner


def _settings(**target: object) -> TargetSettings:
    return TargetSettings.model_validate(target)


def test_a_declared_mapping_renders_urls_secret_and_token() -> None:
    target = _settings(
        http_url="https://staging.example.com",
        ws_url="wss://staging.example.com/ws",
        token_env="STAGING_TOKEN",
        test_env={"API_URL": "{http_url}/api", "API_WS": "{ws_url}", "API_TOKEN": "{token}", "SIGN": "{secret}"},
    )
    env = configured_test_env(target, {"STAGING_TOKEN": "tok-123456789", "CHAT_JWT_SECRET": "s3cret-value"})
    assert env == {
        "API_URL": "https://staging.example.com/api",
        "API_WS": "wss://staging.example.com/ws",
        "API_TOKEN": "tok-123456789",
        "SIGN": "s3cret-value",
        "CHAT_JWT_SECRET": "s3cret-value",
    }
    assert {"API_TOKEN", "SIGN", "STAGING_TOKEN", "CHAT_JWT_SECRET"} <= set(secret_test_env_names(target))
    assert "API_URL" not in secret_test_env_names(target)


def test_a_template_whose_value_is_missing_is_a_one_line_config_error() -> None:
    target = _settings(token_env="STAGING_TOKEN", test_env={"API_TOKEN": "{token}"})
    with pytest.raises(ConfigError, match=r"API_TOKEN needs \{token\}.*") as info:
        configured_test_env(target, {})
    assert "export STAGING_TOKEN" in info.value.one_line()


def test_an_unknown_placeholder_is_refused_when_the_settings_load(tmp_path: Path) -> None:
    (tmp_path / "fixloop.toml").write_text('[target.test_env]\nAPI_URL = "{base}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"(?i)target.test_env.*API_URL uses \{base\}"):
        load_settings(tmp_path)


def test_no_recorded_target_gives_the_configured_service(tmp_path: Path) -> None:
    """Issue 15, reproduction 2: [target] URLs used to reach deploys and health checks but never the tests."""
    repo = tmp_path / "svc"
    repo.mkdir()
    (repo / "fixloop.toml").write_text(
        '[target]\nhttp_url = "http://127.0.0.1:9999"\nws_url = "ws://127.0.0.1:9999/ws"\n'
        '[target.test_env]\nCHAT_HTTP_URL = "{http_url}"\nCHAT_WS_URL = "{ws_url}"\n',
        encoding="utf-8",
    )
    env = available_test_env(repo)
    assert env["CHAT_HTTP_URL"] == "http://127.0.0.1:9999" and env["CHAT_WS_URL"] == "ws://127.0.0.1:9999/ws"


def test_a_started_target_fills_the_mapping_with_its_own_urls_and_secret(tmp_path: Path) -> None:
    workspace = prepare_workspace(tmp_path / "chatbackend", None)
    config = workspace / "fixloop.toml"
    config.write_text(config.read_text() + '\n[target.test_env]\nSVC_BASE = "{http_url}/v1"\nSVC_SIGN = "{secret}"\n')
    info = start_target(workspace)
    try:
        env = test_env(workspace)
        assert env["SVC_BASE"] == f"{info.http_url}/v1"
        assert env["SVC_SIGN"] == env["CHAT_JWT_SECRET"] and len(env["SVC_SIGN"]) >= 32
        assert "CHAT_HTTP_URL" not in env  # the declared mapping replaces the default one
    finally:
        stop_target(workspace)


def test_render_keeps_the_extra_env_and_the_signing_secret_under_its_name() -> None:
    target = _settings(env={"CHAT_MODE": "e2e"}, test_env={})
    env = render_test_env(target, http_url="http://h", ws_url="ws://h", secret="x" * 32)
    assert env == {"CHAT_MODE": "e2e", "CHAT_JWT_SECRET": "x" * 32}


def test_fixloop_test_reaches_a_live_service_through_the_mapping(tmp_path: Path, run_cli: CliRunner) -> None:
    """Against a live service fixloop did not start, `fixloop test` used to fail 18/18 with CHAT_WS_URL is not set."""
    service = prepare_workspace(tmp_path / "service", None)
    info = start_target(service)  # the service, started elsewhere: the tests' repo has no record of it
    secret = test_env(service)["CHAT_JWT_SECRET"]
    try:
        tests_repo = prepare_workspace(tmp_path / "tests-repo", None)
        config = tmp_path / "staging.toml"
        base = (tests_repo / "fixloop.toml").read_text()
        config.write_text(
            base.replace("[target]\n", f'[target]\nhttp_url = "{info.http_url}"\nws_url = "{info.ws_url}"\n', 1)
        )
        done = run_cli(
            "test",
            "--repo",
            str(tests_repo),
            "--config",
            str(config),
            "--focus",
            "websockets",
            "--json",
            env={"CHAT_JWT_SECRET": secret},
            timeout=400,
        )
        report = json.loads(done.stdout)
        outcomes = [r["outcome"] for r in report["run"]["results"]]
        messages = " ".join(r.get("longrepr", "") for r in report["run"]["results"])
        assert "is not set" not in messages
        assert outcomes and outcomes.count("passed") >= len(outcomes) - 1, (outcomes, messages[:2000])
    finally:
        stop_target(service)


STAGING = """
[target]
http_url = "{http_url}"
ws_url = "{ws_url}"
token_secret_env = "CHAT_JWT_SECRET"

[target.test_env]
CHAT_HTTP_URL = "{{http_url}}"
CHAT_WS_URL = "{{ws_url}}"

[tests]
index_path = "tests/e2e/STAGING_E2E_TEST_INDEX.md"
paths = ["tests/e2e"]
timeout = 20.0

[logs]
backend = "file"
path = "{log_file}"
service_name = "chatbackend"

[deploy]
backend = "command"
command = ["true"]

[approval]
approvers = ["alice", "bob"]
"""


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_run_with_only_a_config_file_against_an_external_service_reaches_approval(
    tmp_path: Path, run_cli: CliRunner
) -> None:
    """Issue 15, reproduction 2 end to end: `fixloop target up` (the service), then `fixloop run` on a clone of
    its source with a config file only: the tests reach the service, the fault is found in the code, a PR waits."""
    service = prepare_workspace(tmp_path / "service", load_scenario("handshake-500"))
    up = run_cli("target", "up", "--repo", str(service))
    assert up.returncode == 0, up.stderr
    try:
        state = json.loads((service / ".fixloop" / "target.json").read_text(encoding="utf-8"))
        checkout = tmp_path / "checkout"
        subprocess.run(["git", "clone", "-q", str(service), str(checkout)], check=True)
        config = tmp_path / "staging.toml"
        config.write_text(
            STAGING.format(http_url=state["http_url"], ws_url=state["ws_url"], log_file=state["log_file"]),
            encoding="utf-8",
        )
        out = tmp_path / "out"
        done = run_cli(
            "run", "--repo", str(checkout), "--focus", "websockets", "--config", str(config),
            "--llm", "scripted", "--scenario", "handshake-500", "--requested-by", "carol", "--stop-at", "merge",
            "--out", str(out), env={"CHAT_JWT_SECRET": state["secret"]}, timeout=1100,
        )  # fmt: skip
        assert (out / "run.json").is_file(), done.stderr[-2000:]
        doc = json.loads((out / "run.json").read_text(encoding="utf-8"))
        assert doc["status"] == "awaiting_approval", (doc["outcome"], done.stderr[-2000:])
        first = doc["iterations"][0]
        assert "is not set" not in " ".join(r.get("longrepr", "") for r in first["results"])
        assert [c["kind"] for c in first["categories"]] == ["server-error"]
        assert doc["prs"] and state["secret"] not in (out / "worklog.md").read_text(encoding="utf-8")
        worklog = (out / "worklog.md").read_text(encoding="utf-8")
        assert f"Target: `{state['http_url']}/health` answered HTTP 200" in worklog
        assert "tests connected to the target (ports" in worklog and "touched the target" not in worklog
        assert run_cli("verify", str(out)).returncode == 0
    finally:
        run_cli("target", "down", "--repo", str(service))
