"""Localization: log source locations, traceback frames, literals, recent commits, focus."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from fixloop.agents.triage import categorize
from fixloop.interfaces import LogEntry
from fixloop.records import Category, Finding, Signature, TestRun
from fixloop.tools.localize import LITERAL_CAP, enclosing_function, failure_literals, localize
from tests.agents import failure_samples as s
from tests.tools.conftest import write_files
from tests.tools.localize_repo import git, make_repo

TRACEBACK = """Traceback (most recent call last):
  File "{root}/chat/ws.py", line 16, in accept_connection
    session = self.store.open(request.user)
  File "{root}/chat/sessions.py", line 6, in open
    return self.backends["memory"][user]
KeyError: 'memory'"""


def error_entry(
    message: str,
    *,
    payload: dict[str, Any] | None = None,
    source_file: str = "",
    source_line: int | None = None,
    source_function: str = "",
) -> LogEntry:
    return LogEntry(
        timestamp=s.T0 + timedelta(seconds=2),
        severity="ERROR",
        message=message,
        payload=payload or {},
        source_file=source_file,
        source_line=source_line,
        source_function=source_function,
    )


def test_traceback_in_logs_and_recent_commit_put_the_faulty_file_first(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    run = s.seed_run()
    category = categorize(run, [])[0]
    entries = [
        error_entry(
            "websocket handshake failed: KeyError 'memory'",
            payload={"stack_trace": TRACEBACK.format(root=repo)},
            source_file="chat/ws.py",
            source_line=17,
            source_function="Handler.accept_connection",
        ),
        LogEntry(timestamp=s.T0, severity="INFO", message="websocket connect"),
    ]
    locations = localize(category, run, repo=repo, entries=entries, focus="websockets")
    files = [loc.file for loc in locations]
    assert files[:2] == ["chat/sessions.py", "chat/ws.py"]  # where it was raised, then where it was logged
    sessions = next(loc for loc in locations if loc.file == "chat/sessions.py")
    assert sessions.function == "open" and sessions.line == 6
    assert any("recent commit" in r for r in sessions.reasons)
    assert "raised here (innermost frame in the logs)" in sessions.reasons
    ws = next(loc for loc in locations if loc.file == "chat/ws.py")
    assert "error caught and logged here" in ws.reasons
    assert "path matches focus 'websockets'" not in ws.reasons  # ws.py does not contain 'websocket'


def test_source_location_without_traceback_is_a_strong_signal(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    run = s.seed_run()
    category = categorize(run, [])[0]
    entries = [error_entry("session refused", source_file="chat/agent.py", source_line=6, source_function="run_agent")]
    top = localize(category, run, repo=repo, entries=entries, commits=[])[0]
    assert (top.file, top.function, top.line) == ("chat/agent.py", "run_agent", 6)
    assert top.reasons == ["sourceLocation of an error log entry"]


def test_without_logs_the_error_literal_search_finds_where_it_is_defined_and_used(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    run = s.make_run([s.result("tests/e2e/test_ws_events.py::test_order", longrepr=s.OUT_OF_ORDER)])
    category = categorize(run, [])[0]
    locations = localize(category, run, repo=repo, commits=[])
    by_file = {loc.file: loc for loc in locations}
    assert locations[0].file == "chat/agent.py"  # emits TOOL_EXECUTING
    assert "uses TOOL_EXECUTING ('tool_executing')" in locations[0].reasons
    assert "error literal defined here" in by_file["chat/ws.py"].reasons  # the EVENTS tuple spells them out
    test_file = by_file.get("tests/e2e/test_ws_events.py")
    assert test_file is None or test_file.score < locations[0].score


def test_test_defects_point_at_the_test(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    nodeid = "tests/e2e/test_ws_events.py::test_websocket_event_flow_real"
    run = s.make_run([s.result(nodeid, "passed", duration=0.0)])
    category = Category(
        id="test-defect-1",
        kind="test-defect",
        title="fake pass",
        tests=[nodeid],
        signature=Signature(exception_type="fake-pass"),
        findings=[Finding(kind="fake-pass", test=nodeid, message="passed in 0.000 s")],
    )
    top = localize(category, run, repo=repo, commits=[])[0]
    assert (top.file, top.function) == ("tests/e2e/test_ws_events.py", "test_websocket_event_flow_real")


def test_literals_and_enclosing_function(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    run = s.make_run([s.result("t.py::t", longrepr=s.OUT_OF_ORDER)])
    category = categorize(run, [])[0]
    literals = failure_literals(category, run, [error_entry("websocket handshake failed: KeyError 'memory'")])
    assert "agent_thinking" in literals and "tool_executing" in literals
    assert "websocket handshake failed" in literals and "memory" in literals
    assert enclosing_function(repo / "chat" / "ws.py", 17) == "Handler.accept_connection"
    assert enclosing_function(repo / "chat" / "ws.py", 1) == ""


def test_constant_uses_count_more_than_the_definitions(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    report = "E   AssertionError: expected 'agent_started' then 'tool_executing'\n"
    run = s.make_run([s.result("tests/e2e/test_ws_events.py::t", longrepr=report)])
    category = categorize(run, [])[0]
    top = localize(category, run, repo=repo, commits=[])
    assert top[0].file == "chat/agent.py" and top[0].function == "run_agent"
    assert "uses TOOL_EXECUTING ('tool_executing')" in top[0].reasons
    events = next(loc for loc in top if loc.file == "chat/events.py")
    assert not any(r.startswith("uses") for r in events.reasons)  # ORDER in the defining module is no use


def test_a_hang_points_at_the_call_after_the_last_logged_event(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    nodeid = "tests/e2e/test_ws_events.py::test_hang"
    run = s.make_run([s.result(nodeid, longrepr="E   TimeoutError: timed out in 4.0s\n")])
    category = categorize(run, [])[0]
    assert category.kind == "timeout"
    entries = [
        LogEntry(timestamp=s.T0, severity="INFO", message=f"event {name}", payload={"event": name, "test": nodeid})
        for name in ("agent_started", "tool_executing")
    ]
    top = localize(category, run, repo=repo, entries=entries, commits=[])[0]
    assert (top.file, top.function) == ("chat/tools.py", "run_tool")
    assert "tools.run_tool runs right after the last event the client received ('tool_executing')" in top.reasons


def test_flaky_categories_suspect_module_level_state(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    run = s.make_run([s.result("tests/e2e/test_ws_events.py::t", longrepr="E   AssertionError: 'x' != 'y'\n")])
    category = categorize(run, [])[0].model_copy(update={"kind": "flaky"})
    top = localize(category, run, repo=repo, commits=[])[0]
    assert (top.file, top.function) == ("chat/tools.py", "run_tool")
    assert any("rebinds module-level _last" in r for r in top.reasons)


def test_the_cause_part_of_a_warning_outweighs_the_logger_framing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    run = s.make_run([s.result("tests/e2e/test_ws_events.py::t", longrepr=s.AUTH_403)])
    category = categorize(run, [])[0]
    warning = LogEntry(
        timestamp=s.T0,
        severity="WARNING",
        message="websocket handshake failed: token not yet valid (issued in the future)",
        source_file="chat/ws.py",
        source_line=17,
        source_function="Handler.accept_connection",
    )
    top = localize(category, run, repo=repo, entries=[warning], commits=[])
    assert top[0].file == "chat/tools.py" and top[0].function == "verify"
    assert "warning logged here" in next(loc for loc in top if loc.file == "chat/ws.py").reasons


# ---------------------------------------------------------------- one step of data flow, settings, diffs

AUTH_REPO = {
    "svc/__init__.py": "",
    "svc/server.py": """
        import logging

        from svc import auth, config

        log = logging.getLogger(__name__)


        class Server:
            def __init__(self) -> None:
                self.config = config.load_config({"SVC_SECRET": "a-long-shared-secret-value"})

            def authorize(self, token):
                try:
                    return auth.verify(token, self.config.secret)
                except auth.AuthError as exc:
                    log.warning("auth refused: %s", exc)
                    return 403
    """,
    "svc/auth.py": """
        import base64
        import binascii
        import hmac


        class AuthError(Exception):
            pass


        def verify(token, secret):
            try:
                signature = base64.b64decode(token, validate=True)
            except binascii.Error as exc:  # the library's words reach the log
                raise AuthError(f"invalid token: {exc}") from None
            if not hmac.compare_digest(signature, secret.encode()):
                raise AuthError("invalid token: bad signature")
            return {"sub": "u"}
    """,
    "svc/config.py": """
        from dataclasses import dataclass

        KEY_BYTES = 64


        @dataclass
        class Config:
            secret: str


        def load_config(env):
            return Config(secret=env["SVC_SECRET"][:KEY_BYTES])
    """,
    "tests/e2e/test_auth_e2e.py": """
        def test_websocket_connection():
            assert False
    """,
}
GIT_USER = ("-c", "user.name=t", "-c", "user.email=t@example.com")


def committed_repo(root: Path, files: dict[str, str]) -> Path:
    """``files`` committed as the baseline of a fresh git repository."""
    write_files(root, files)
    git(root, "init", "-q", "-b", "main")
    git(root, *GIT_USER, "add", "-A")
    git(root, *GIT_USER, "commit", "-qm", "baseline")
    return root


def commit_edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    path.write_text(path.read_text().replace(old, new))
    git(root, *GIT_USER, "commit", "-qam", "Refactor")


def auth_failure() -> tuple[Category, TestRun]:
    nodeid = "tests/e2e/test_auth_e2e.py::test_websocket_connection"
    longrepr = "E   websockets.exceptions.InvalidStatus: server rejected WebSocket connection: HTTP 403"
    run = s.make_run([s.result(nodeid, longrepr=longrepr)])
    return categorize(run, [])[0], run


def warning_at(repo: Path, rel: str, needle: str, message: str) -> LogEntry:
    line = next(n for n, text in enumerate((repo / rel).read_text().splitlines(), 1) if needle in text)
    return LogEntry(
        timestamp=s.T0, severity="WARNING", message=message, source_file=rel, source_line=line, source_function="x"
    )


def test_an_error_logged_in_an_except_handler_points_at_the_guarded_call_and_its_inputs(tmp_path: Path) -> None:
    repo = committed_repo(tmp_path / "repo", AUTH_REPO)
    category, run = auth_failure()
    entry = warning_at(repo, "svc/server.py", "log.warning", "auth refused: invalid token: Incorrect padding")
    by_file = {loc.file: loc for loc in localize(category, run, repo=repo, entries=[entry], commits=[])}
    assert (
        "raised inside auth.verify, whose error is caught and logged at svc/server.py:16"
        in by_file["svc/auth.py"].reasons
    )
    config = by_file["svc/config.py"]
    assert (config.function, config.line) == ("load_config", 12)
    assert config.reasons == ["computes secret, passed to auth.verify (error logged at svc/server.py:16)"]
    assert by_file["svc/server.py"].reasons[0] == "warning caught and reported here"
    assert by_file["svc/server.py"].score < by_file["svc/auth.py"].score  # the handler only reports


def test_a_recent_diff_in_the_ranked_function_lifts_the_far_cause_first(tmp_path: Path) -> None:
    repo = committed_repo(tmp_path / "repo", AUTH_REPO)
    commit_edit(repo, "svc/config.py", "[:KEY_BYTES]", "[:KEY_BYTES // 2]")
    category, run = auth_failure()
    entry = warning_at(repo, "svc/server.py", "log.warning", "auth refused: invalid token: Incorrect padding")
    top = localize(category, run, repo=repo, entries=[entry])[0]
    assert (top.file, top.function) == ("svc/config.py", "load_config")
    assert any(r.startswith("recent commit ") and r.endswith(" changed load_config") for r in top.reasons)


def test_a_recent_diff_of_a_name_the_ranked_function_reads_counts_too(tmp_path: Path) -> None:
    repo = committed_repo(tmp_path / "repo", AUTH_REPO)
    commit_edit(repo, "svc/config.py", "KEY_BYTES = 64", "KEY_BYTES = 8")
    category, run = auth_failure()
    entry = warning_at(repo, "svc/server.py", "log.warning", "auth refused: invalid token: Incorrect padding")
    by_file = {loc.file: loc for loc in localize(category, run, repo=repo, entries=[entry])}
    assert any(r.endswith(" changed KEY_BYTES, read by load_config") for r in by_file["svc/config.py"].reasons)
    # the same commit seen by a function that does not read the name is only a touched file
    commit_edit(repo, "svc/auth.py", "class AuthError(Exception):", "class AuthError(ValueError):")
    by_file = {loc.file: loc for loc in localize(category, run, repo=repo, entries=[entry])}
    assert not any(" changed " in r and "read by" in r for r in by_file["svc/auth.py"].reasons)


HANG_REPO = {
    "app/__init__.py": "",
    "app/events.py": """
        TOOL_EXECUTING = "tool_executing"
    """,
    "app/agent.py": """
        from app import events, tools


        async def run_agent(emit, *, delay_ms):
            await emit(events.TOOL_EXECUTING)
            return await tools.run_tool("calc", delay_ms)
    """,
    "app/tools.py": """
        import asyncio


        async def run_tool(name, delay_ms):
            await asyncio.sleep(delay_ms / 1000)
            return name
    """,
    "app/server.py": """
        from app import agent, settings


        async def handle(emit):
            cfg = settings.load()
            return await agent.run_agent(emit, delay_ms=cfg.delay_ms)
    """,
    "app/settings.py": """
        from types import SimpleNamespace

        DEFAULT_DELAY_MS = 5000.0


        def load():
            return SimpleNamespace(delay_ms=float(DEFAULT_DELAY_MS))
    """,
}


def test_a_hang_also_points_at_where_the_waiting_call_s_input_is_computed(tmp_path: Path) -> None:
    repo = committed_repo(tmp_path / "repo", HANG_REPO)
    longrepr = "E   TimeoutError: no agent_completed within 4.0 s; got ['agent_started', 'tool_executing']"
    run = s.make_run([s.result("tests/e2e/test_chat.py::test_flow", longrepr=longrepr)])
    category = categorize(run, [])[0]
    assert category.kind == "timeout"
    by_file = {loc.file: loc for loc in localize(category, run, repo=repo, commits=[])}
    assert by_file["app/tools.py"].function == "run_tool"
    origin = by_file["app/settings.py"]
    assert origin.function == "load"
    assert "computes delay_ms, passed to tools.run_tool (the call that did not return)" in origin.reasons
    assert "app/server.py" not in by_file  # delay_ms=cfg.delay_ms only hands the value on


REFUSED = """\
    def test_health_check(http_url):
>       urlopen(http_url + "/health", timeout=5.0)
E       ConnectionRefusedError: [Errno 111] Connection refused"""


def test_an_unreachable_target_ranks_the_settings_file_that_names_it(tmp_path: Path) -> None:
    files = {**AUTH_REPO, "fixloop.toml": '[target]\nhttp_url = "http://10.0.0.7:8765"\n\n[tests]\npaths = ["tests"]\n'}
    repo = committed_repo(tmp_path / "repo", files)
    run = s.make_run([s.result("tests/e2e/test_auth_e2e.py::test_websocket_connection", longrepr=REFUSED)])
    category = categorize(run, [])[0]
    assert category.kind == "environment"
    top = localize(category, run, repo=repo, commits=[])[0]
    assert (top.file, top.line) == ("fixloop.toml", 1)
    assert top.reasons == [
        "target unreachable at http://10.0.0.7:8765 (connection refused): its address and start environment "
        "come from fixloop.toml"
    ]
    other, auth_run = auth_failure()  # not an unreachable target: the settings file is no suspect
    assert "fixloop.toml" not in [loc.file for loc in localize(other, auth_run, repo=repo, commits=[])]


def test_literal_matches_are_capped_per_file(tmp_path: Path) -> None:
    words = ["alpha_one", "beta_two", "gamma_three", "delta_four", "epsilon_five", "zeta_six"]
    noisy = "\n".join(f'def f_{n}():\n    raise ValueError("{w}")\n' for n, w in enumerate(words))
    repo = committed_repo(tmp_path / "repo", {"pkg/__init__.py": "", "pkg/noisy.py": noisy})
    longrepr = "E   AssertionError: " + " ".join(words)
    run = s.make_run([s.result("tests/e2e/test_x.py::test_x", longrepr=longrepr)])
    top = localize(categorize(run, [])[0], run, repo=repo, commits=[])[0]
    assert top.file == "pkg/noisy.py"
    assert top.score == LITERAL_CAP  # six raise sites of 2.0 each, but lexical evidence is capped
