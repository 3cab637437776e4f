"""Rule-based five whys: six steps from symptom to root cause, every step citing the bundle."""

from __future__ import annotations

from pathlib import Path

from fixloop.agents.citations import citation_problems
from fixloop.agents.five_whys_rules import rule_chain
from fixloop.agents.triage import categorize
from fixloop.config import Settings
from fixloop.integrations.logs.file import FileLogSource
from fixloop.records import EvidenceBundle, EvidenceItem, Finding
from fixloop.redaction import Redactor
from fixloop.tools.evidence import gather_evidence
from tests.agents import failure_samples as s
from tests.tools.localize_repo import make_repo
from tests.tools.test_evidence import write_logs


def test_chain_from_a_full_bundle(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    run = s.seed_run()
    category = categorize(run, [], repo=repo)[0]
    bundle = gather_evidence(category, run, repo=repo, logs=FileLogSource(write_logs(repo)), settings=Settings())
    chain = rule_chain(category, bundle)
    assert citation_problems(chain, bundle) == []
    assert len(chain.steps) == 6
    kinds = {i.id: i.kind for i in bundle.items}
    assert {kinds[e] for e in chain.steps[0].evidence} == {"test-output"}
    assert "HTTP 500" in chain.steps[1].answer
    assert {kinds[e] for e in chain.steps[2].evidence} <= {"log-line", "log-template"}
    assert "KeyError: 'memory'" in chain.steps[2].answer
    assert kinds[chain.steps[3].evidence[0]] == "code" and "chat/sessions.py:6" in chain.steps[3].answer
    assert kinds[chain.steps[4].evidence[0]] == "commit" and "Rename session backend" in chain.steps[4].answer
    assert chain.fix_location == "chat/sessions.py:open"
    assert "server-error" in chain.root_cause and "chat/sessions.py:open" in chain.root_cause
    assert chain.method == "rules"
    assert chain.confidence >= 0.8


def test_weak_evidence_gives_lower_confidence_but_a_valid_chain(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    run = s.make_run([s.result("tests/e2e/test_ws_events.py::test_order", longrepr=s.OUT_OF_ORDER)])
    category = categorize(run, [], repo=repo)[0]
    bundle = gather_evidence(category, run, repo=repo, logs=None, settings=Settings(), commits=[])
    chain = rule_chain(category, bundle)
    assert citation_problems(chain, bundle) == []
    assert "No error was logged" in chain.steps[2].answer
    assert "No recent focused commit" in chain.steps[4].answer
    assert chain.confidence < 0.8


def test_findings_only_category(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    nodeid = "tests/e2e/test_ws_events.py::test_websocket_event_flow_real"
    run = s.make_run([s.result(nodeid, "passed", duration=0.0)])
    category = categorize(run, [Finding(kind="fake-pass", test=nodeid, message="passed in 0.000 s")], repo=repo)[0]
    bundle = gather_evidence(category, run, repo=repo, logs=None, settings=Settings(), commits=[])
    chain = rule_chain(category, bundle)
    assert citation_problems(chain, bundle) == []
    assert "prove nothing: fake-pass" in chain.steps[0].answer
    assert chain.fix_location == "tests/e2e/test_ws_events.py:test_websocket_event_flow_real"


def test_chain_text_is_redacted() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.Y2FuYXJ5LXNpZ25hdHVyZQ"
    run = s.make_run([s.result("t.py::t", longrepr=f"E   AssertionError: token {jwt} was not accepted")])
    category = categorize(run, [], redactor=Redactor(env={}))[0]
    category.signature.message = f"token {jwt}"  # as if an unredacted category came from elsewhere
    bundle = EvidenceBundle(
        category_id=category.id,
        items=[EvidenceItem(id="E1", kind="test-output", title="t", text="x", source="t.py::t")],
    )
    chain = rule_chain(category, bundle, redactor=Redactor(env={}))
    assert jwt not in chain.model_dump_json()
