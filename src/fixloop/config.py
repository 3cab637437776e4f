"""Settings: ``fixloop.toml`` or ``[tool.fixloop]`` in the target's pyproject.toml,
overridden by ``FIXLOOP_*`` environment variables (nested keys joined by ``__``,
e.g. ``FIXLOOP_TARGET__HTTP_URL``), validated by pydantic-settings.

Files hold the *names* of secret env vars, never their values.
"""

from __future__ import annotations

import os
import string
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from fixloop.errors import ConfigError
from fixloop.vocabulary import AutonomyLevel as AutonomyLevel  # re-exported: callers import it from here
from fixloop.vocabulary import LLMMode

CONFIG_FILE = "fixloop.toml"
ENV_PREFIX = "FIXLOOP_"


# the values a [target.test_env] template may use (target_test_env.py fills them)
TEST_ENV_PLACEHOLDERS = ("http_url", "ws_url", "secret", "token")


def template_fields(template: str) -> set[str]:
    """The ``{placeholder}`` names of a ``str.format`` template (ValueError when it is malformed)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TargetSettings(Section):
    http_url: str = "http://127.0.0.1:8765"
    ws_url: str = "ws://127.0.0.1:8765/ws"
    health_path: str = "/health"
    service_name: str = "chatbackend"
    token_secret_env: str = "CHAT_JWT_SECRET"  # name of the env var holding the HS256 secret
    token_env: str | None = None  # name of an env var holding a ready bearer token
    start_command: list[str] = Field(default_factory=list)  # argv to start the target, if fixloop manages it
    # false: the repository is a library whose tests start whatever they need themselves (servers on
    # loopback included): a fix's validation and stress runs start no target from the worktree
    server: bool = True
    env: dict[str, str] = Field(default_factory=dict)  # extra env for the target and its tests
    # env var name the tests read -> template over {http_url} {ws_url} {secret} {token} (target_test_env.py)
    test_env: dict[str, str] = Field(default_factory=lambda: {"CHAT_HTTP_URL": "{http_url}", "CHAT_WS_URL": "{ws_url}"})

    @field_validator("test_env")
    @classmethod
    def _known_placeholders(cls, value: dict[str, str]) -> dict[str, str]:
        for name, template in value.items():
            try:
                used = template_fields(template)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
            unknown = sorted(used - set(TEST_ENV_PLACEHOLDERS))
            if unknown:
                raise ValueError(f"{name} uses {{{unknown[0]}}}; known: {', '.join(TEST_ENV_PLACEHOLDERS)}")
        return value


class TestSettings(Section):
    __test__ = False

    index_path: str | None = None  # markdown test index, relative to the repo
    interpreter: str | None = None  # python for the target's tests; default: repo/.venv, else current
    command: list[str] = Field(default_factory=list)  # full argv prefix instead of "<python> -m pytest"
    paths: list[str] = Field(default_factory=lambda: ["tests"])
    timeout: float = 60.0  # per test, seconds
    run_timeout: float = 900.0  # whole pytest process, seconds
    workers: int = 0  # pytest-xdist -n, 0 = off
    fake_pass_seconds: float = 0.005  # a networked test faster than this proves nothing
    flaky_reruns: int = 3
    # a test phase still running this long after its timeout: the plugin's watchdog records it and ends pytest
    hang_grace: float = Field(default=3.0, gt=0)
    # new pytest processes for the tests a hung or crashed one had not reached, per test run
    max_restarts: int = Field(default=5, ge=0)
    # Coverage spectra (localization): the category's failing tests and passing tests of the same files
    # re-run under coverage.py, at most this many tests and about this many seconds of recorded durations.
    spectrum: bool = True
    # Record the lines each test runs during every test run (coverage.py, one context per test, from the start
    # of the tests on): a spectrum then needs no re-run. Off: the spectrum re-runs the tests it needs. Unset (auto):
    # on for a library (``target.server = false``), off for a service target, whose tests drive a server elsewhere.
    spectrum_during_run: bool | None = None
    spectrum_max_tests: int = Field(default=200, ge=1)
    spectrum_max_seconds: float = Field(default=120.0, gt=0)
    # Selection budgets: the first phase (P1) is what an engineer runs first; P1-P3 stay a short list.
    p1_max_files: int = Field(default=8, ge=1)
    p1_budget_seconds: float | None = Field(default=None, gt=0)  # fill P1 from recorded durations instead
    tiers_max_files: int = Field(default=20, ge=1)  # P1 to P3 together; the rest goes to lower tiers


class LogSettings(Section):
    backend: Literal["file", "cloud-logging"] = "file"
    path: str | None = None  # file backend: JSON-lines file or folder, relative to the repo
    project: str | None = None  # cloud-logging
    endpoint: str | None = None  # cloud-logging REST endpoint override (tests, private endpoints)
    credentials_env: str | None = None
    service_name: str | None = None
    revision_name: str | None = None
    min_severity: str = "DEFAULT"
    margin_seconds: float = 30.0


class CodeHostSettings(Section):
    backend: Literal["local", "github"] = "local"
    remote: str | None = None  # local: path of the bare repository
    repo: str | None = None  # github: owner/name
    base_url: str | None = None  # github: API base url (GitHub Enterprise or a local stand-in)
    token_env: str = "GITHUB_TOKEN"
    base_branch: str = "main"


class DeploySettings(Section):
    backend: Literal["local", "command"] = "local"
    command: list[str] = Field(default_factory=list)  # argv, never a shell string
    health_timeout: float = 60.0
    poll_interval: float = 0.5


class ApprovalSettings(Section):
    approvers: list[str] = Field(default_factory=list)
    four_eyes: bool = True
    slack_users: dict[str, str] = Field(default_factory=dict)  # Slack user id -> approver name
    github_users: dict[str, str] = Field(default_factory=dict)  # GitHub login -> approver name


class LLMSettings(Section):
    mode: LLMMode = "none"
    base_url: str | None = None
    model: str = "gpt-4.1-mini"
    api_key_env: str = "OPENAI_API_KEY"
    timeout: float = 60.0
    max_retries: int = 3
    prices: dict[str, tuple[float, float]] = Field(default_factory=dict)  # model -> ($/1M in, $/1M out)
    fix_context_tokens: int = 800  # the fix prompt's source excerpts (agents/code_context.py), in tokens


class LimitSettings(Section):
    max_iterations: int = 3
    max_seconds: float = 3600.0
    max_tokens: int = 400_000
    max_llm_calls: int = 200
    max_parallel: int = 4
    max_fix_attempts: int = 3
    stress_runs: int = 5

    @field_validator("max_iterations", "max_parallel", "max_fix_attempts")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value


class RedactionSettings(Section):
    secret_env_names: list[str] = Field(default_factory=list)  # extra env var names whose values are secret
    # keep pytest's raw console output in a 0600 file under FIXLOOP_HOME/raw-output/ (OUT holds it redacted)
    keep_raw_output: bool = False


class AutonomySettings(Section):
    """How far fixloop may go on its own: a default level, per-focus levels, score gates per level."""

    default: AutonomyLevel = "pr"
    focus: dict[str, AutonomyLevel] = Field(default_factory=dict)  # e.g. {"websockets": "merge"}
    # the lowest fixability score a category needs to reach each level on its own
    gates: dict[str, float] = Field(default_factory=lambda: {"patch": 0.4, "pr": 0.66, "merge": 0.66})
    fix_flaky: bool = False  # a flaky category gets a report, not a code fix, unless this is set
    # also open a "quarantine, not a fix" PR marking flaky tests with the repo's own registered flaky marker
    quarantine_flaky: bool = False


class ServerSettings(Section):
    """``fixloop serve``'s run pages: where they are reached, who may sign in, whether they are public."""

    public_url: str = ""  # e.g. https://fixloop.example.com: links in Slack, GitHub and the CLI summary
    # approver name -> SHA-256 (hex) of that person's page token; a signed-in name acts under [approval]
    page_users: dict[str, str] = Field(default_factory=dict)
    trusted_user_header: str = ""  # e.g. X-Forwarded-User, set by an authenticating proxy (only when set here)
    pages_public: bool = False  # read-only pages without any token (actions still need a signed-in user)

    @field_validator("page_users")
    @classmethod
    def _hashes(cls, value: dict[str, str]) -> dict[str, str]:
        for name, digest in value.items():
            hex_part = digest.removeprefix("sha256:").lower()
            if len(hex_part) != 64 or any(c not in "0123456789abcdef" for c in hex_part):
                raise ValueError(f"page_users.{name}: give the SHA-256 of the token (64 hex digits), not the token")
        return {name: digest.removeprefix("sha256:").lower() for name, digest in value.items()}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", nested_model_default_partial_update=True
    )

    target: TargetSettings = Field(default_factory=TargetSettings)
    tests: TestSettings = Field(default_factory=TestSettings)
    logs: LogSettings = Field(default_factory=LogSettings)
    codehost: CodeHostSettings = Field(default_factory=CodeHostSettings)
    deploy: DeploySettings = Field(default_factory=DeploySettings)
    approval: ApprovalSettings = Field(default_factory=ApprovalSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    redaction: RedactionSettings = Field(default_factory=RedactionSettings)
    autonomy: AutonomySettings = Field(default_factory=AutonomySettings)
    server: ServerSettings = Field(default_factory=ServerSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment variables override what the file says; the file is passed as init kwargs.
        return (env_settings, init_settings)


def find_config_file(repo: Path) -> tuple[Path | None, dict[str, Any]]:
    """The settings file of ``repo`` and its raw table (empty when there is none)."""
    own = repo / CONFIG_FILE
    if own.is_file():
        return own, _read_toml(own)
    pyproject = repo / "pyproject.toml"
    if pyproject.is_file():
        table = _read_toml(pyproject).get("tool", {}).get("fixloop")
        if isinstance(table, dict):
            return pyproject, table
    return None, {}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", hint="fix the file's syntax") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None


def load_settings(repo: Path | None = None, config_file: Path | None = None) -> Settings:
    """Load and validate settings; raise ``ConfigError`` naming the key, the file and the expected type."""
    source: Path | None
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"config file {config_file} does not exist", hint="pass an existing --config FILE")
        data = _read_toml(config_file)
        if config_file.name == "pyproject.toml":
            data = data.get("tool", {}).get("fixloop", {})
        source = config_file
    elif repo is not None:
        source, data = find_config_file(repo)
    else:
        source, data = None, {}
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None


def _describe(exc: ValidationError, source: Path | None) -> str:
    env_keys = {k for k in os.environ if k.startswith(ENV_PREFIX)}
    parts = []
    for err in exc.errors()[:3]:
        key = ".".join(str(p) for p in err["loc"])
        got = err.get("input")
        got_text = f", got {got!r}" if not isinstance(got, dict) and got is not None else ""
        parts.append(f"key '{key}': {err['msg'].lower()}{got_text}")
    where = f"in {source}" if source else "in settings"
    if env_keys:
        where += f" (or env {', '.join(sorted(env_keys))})"
    more = f" (+{exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
    return f"config error {where}: " + "; ".join(parts) + more
