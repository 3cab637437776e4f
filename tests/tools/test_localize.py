"""Localization: log source locations, traceback frames, literals, recent commits, focus."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fixloop.agents.triage import categorize
from fixloop.interfaces import LogEntry
from fixloop.records import Category, Finding, Signature
from fixloop.tools.localize import enclosing_function, failure_literals, localize
from tests.agents import failure_samples as s
from tests.tools.localize_repo import make_repo

TRACEBACK = """Traceback (most recent call last):
  File "{root}/chat/ws.py", line 16, in accept_connection
    session = self.store.open(request.user)
  File "{root}/chat/sessions.py", line 6, in open
    return self.backends["memory"][user]
KeyError: 'memory'"""


def error_entry(message: str, **extra: object) -> LogEntry:
    return LogEntry(timestamp=s.T0 + timedelta(seconds=2), severity="ERROR", message=message, **extra)  # type: ignore[arg-type]


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
