"""Evidence bundles: stable ids, every kind of item, the token budget, notes, redaction."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from fixloop.agents.triage import categorize
from fixloop.config import Settings
from fixloop.errors import LogSourceError
from fixloop.integrations.logs.file import FileLogSource
from fixloop.interfaces import LogEntry, LogQuery
from fixloop.records import Category, EvidenceBundle
from fixloop.redaction import Redactor
from fixloop.tools.evidence import estimate_tokens, gather_evidence, relevant_entries
from tests.agents import failure_samples as s
from tests.tools.localize_repo import make_repo

TRACE = """Traceback (most recent call last):
  File "{root}/chat/ws.py", line 16, in accept_connection
    session = self.store.open(request.user)
              ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "{root}/chat/sessions.py", line 6, in open
    return self.backends["memory"][user]
KeyError: 'memory'"""


def log_line(seconds: float, severity: str, message: str, **payload: object) -> str:
    stamp = (s.T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")
    entry: dict[str, object] = {
        "timestamp": stamp,
        "severity": severity,
        "jsonPayload": {"message": message, **payload},
        "resource": {"type": "cloud_run_revision", "labels": {"service_name": "chatbackend", "revision_name": "r1"}},
    }
    if severity == "ERROR":
        entry["sourceLocation"] = {"file": "chat/ws.py", "line": "17", "function": "Handler.accept_connection"}
    return json.dumps(entry)


def write_logs(repo: Path) -> Path:
    failing = "tests/e2e/test_ws_events.py::test_websocket_event_flow_real"
    lines = [
        log_line(
            2.1,
            "ERROR",
            "websocket handshake failed: KeyError 'memory'",
            stack_trace=TRACE.format(root=repo),
            test=failing,
        ),
        log_line(2.2, "ERROR", "GET /ws -> 500", status=500, test=failing),
        log_line(3.1, "ERROR", "websocket handshake failed: KeyError 'memory'", stack_trace=TRACE.format(root=repo)),
        log_line(3.2, "ERROR", "GET /ws -> 500", status=500),
        log_line(2.5, "INFO", "GET /health -> 200", test="tests/e2e/test_ws_events.py::test_health_check"),
    ]
    path = repo / "backend.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def build(tmp_path: Path, budget: int = 4000) -> tuple[Path, Category, EvidenceBundle]:
    repo = make_repo(tmp_path / "repo")
    run = s.seed_run()
    category = categorize(run, [], repo=repo)[0]
    bundle = gather_evidence(
        category, run, repo=repo, logs=FileLogSource(write_logs(repo)), settings=Settings(), budget_tokens=budget
    )
    return repo, category, bundle


def test_bundle_has_every_kind_with_stable_ids(tmp_path: Path) -> None:
    _, category, bundle = build(tmp_path)
    assert bundle.category_id == category.id
    assert [i.id for i in bundle.items] == [f"E{n}" for n in range(1, len(bundle.items) + 1)]
    kinds = [i.kind for i in bundle.items]
    assert kinds[:2] == ["test-output", "test-output"]
    assert {"log-line", "log-template", "code", "commit"} <= set(kinds)
    traceback = next(i for i in bundle.items if i.kind == "log-line")
    assert "KeyError: 'memory'" in traceback.text
    assert "^^^" not in traceback.text and "session = self.store.open" in traceback.text  # markers dropped
    template = next(i for i in bundle.items if i.kind == "log-template")
    assert "count: 2" in template.text and "during tests:" in template.text
    code = next(i for i in bundle.items if i.kind == "code")
    assert code.source == "chat/sessions.py:6" and 'self.backends["memory"][user]' in code.text
    commit = next(i for i in bundle.items if i.kind == "commit")
    assert "Rename session backend" in commit.title and '"mem"' in commit.text
    assert bundle.locations[0].file == "chat/sessions.py"
    assert bundle.token_estimate == sum(
        estimate_tokens(i.title) + estimate_tokens(i.text) + estimate_tokens(i.source) for i in bundle.items
    )


def test_same_inputs_give_the_same_bundle(tmp_path: Path) -> None:
    _, _, first = build(tmp_path / "a")
    _, _, second = build(tmp_path / "b")
    assert [(i.id, i.kind, i.title) for i in first.items] == [(i.id, i.kind, i.title) for i in second.items]


def test_budget_bounds_the_bundle(tmp_path: Path) -> None:
    _, _, small = build(tmp_path, budget=300)
    assert small.token_estimate <= 300
    assert small.items and small.items[0].kind == "test-output"  # the highest priority item stays
    assert small.dropped > 0
    assert [i.id for i in small.items] == [f"E{n}" for n in range(1, len(small.items) + 1)]


def test_log_failures_become_notes_not_crashes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    run = s.seed_run()
    category = categorize(run, [], repo=repo)[0]

    class Broken:
        name = "broken"

        def fetch(self, query: LogQuery) -> list[LogEntry]:
            raise LogSourceError("entries:list failed: 503")

    bundle = gather_evidence(category, run, repo=repo, logs=Broken(), settings=Settings())
    assert bundle.notes == ["logs unavailable: entries:list failed: 503"]
    assert bundle.items[0].kind == "test-output"
    none = gather_evidence(category, run, repo=repo, logs=None, settings=Settings())
    assert none.notes == ["no log source configured"]


def test_relevant_entries_prefer_the_category_tests() -> None:
    mine = LogEntry(timestamp=s.T0, severity="ERROR", message="a", payload={"test": "t::a"})
    other = LogEntry(timestamp=s.T0, severity="ERROR", message="b", payload={"test": "t::b"})
    untagged = LogEntry(timestamp=s.T0, severity="ERROR", message="c")
    assert relevant_entries([mine, other, untagged], ["t::a"]) == [mine, untagged]
    assert relevant_entries([other, untagged], ["t::a"]) == [other, untagged]  # no tag matches: keep all


def test_secrets_in_logs_and_output_are_redacted(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    secret = "canary-env-secret-314159"
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.Y2FuYXJ5LXNpZ25hdHVyZQ"
    run = s.seed_run()
    failing = run.results[3]
    failing.longrepr += f"\nE   Authorization: Bearer {jwt}\n"
    failing.stdout = f"connecting with secret={secret}\n"
    logs = repo / "logs.jsonl"
    logs.write_text(log_line(2.1, "ERROR", f"token {jwt} rejected for postgres://app:hunter2pw@db/x") + "\n")
    category = categorize(run, [], repo=repo)[0]
    redactor = Redactor(env={"CHAT_JWT_SECRET": secret})
    bundle = gather_evidence(category, run, repo=repo, logs=FileLogSource(logs), settings=Settings(), redactor=redactor)
    dumped = bundle.model_dump_json()
    for canary in (secret, jwt, "hunter2pw"):
        assert canary not in dumped
    assert "[REDACTED:" in dumped


def test_one_test_output_per_distinct_error_with_library_frames_folded(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    f = "tests/e2e/test_ws_events.py"
    names = [f"test_same_{n}" for n in range(6)]
    run = s.make_run(
        [s.result(f"{f}::{name}", longrepr=s.HANDSHAKE_500, offset=1.0 + n) for n, name in enumerate(names)]
        + [s.result(f"{f}::test_other", longrepr=s.CONCURRENT_500, offset=9.0)]
    )
    category = categorize(run, [], repo=repo)[0]
    bundle = gather_evidence(category, run, repo=repo, logs=None, settings=Settings())
    outputs = [i for i in bundle.items if i.kind == "test-output"]
    shown = [i for i in outputs if " failed in " in i.title]
    assert len(shown) == len({i.text.splitlines()[-1] for i in shown})  # no error shown twice
    assert f"{f}::test_same_0" in [i.source for i in shown]
    first = next(i for i in shown if i.source == f"{f}::test_same_0")
    assert "... (2 library frames)" in first.text  # three site-packages frames in a row: the last one stays
    assert "client.py:587" not in first.text and "client.py:330: in process_response" in first.text
    assert "E   websockets.exceptions.InvalidStatus" in first.text
    (rest,) = [i for i in outputs if "more tests" in i.title]
    assert all(f"{f}::{name}" in rest.text for name in names[1:])  # the repeats are still named
