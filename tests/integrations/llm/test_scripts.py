"""Scripts derived from a scenario: five whys cite the request's evidence, the fix is the gold patch."""

from __future__ import annotations

import json
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from fixloop.config import LLMSettings, Settings
from fixloop.errors import ModelError, UsageError
from fixloop.integrations.llm.scripted import STEPS_ENV, scripted_model
from fixloop.integrations.llm.scripted_server import RecordedRequest
from fixloop.integrations.llm.scripts import evidence_in, five_whys_reply, label, script_for_scenario
from fixloop.interfaces import ChatMessage
from fixloop.records import FixProposal
from fixloop.scenarios import load_scenario
from tests.integrations.llm.scenario_repo import ScenarioRepo, git

PROMPT = """Evidence:
### E1 [test-output] test_handshake failed
server rejected WebSocket connection: HTTP 500
### E2 [log-template] RuntimeError in handshake
### E3 [code] app/server.py:9 handshake_status
### E4 [commit] abc123 fault
Some text mentioning E9 that is not an evidence heading.
"""


def test_evidence_ids_are_read_from_the_prompt_headings() -> None:
    request = RecordedRequest(purpose="five_whys", body={"messages": [{"role": "user", "content": PROMPT}]})
    assert evidence_in(request) == [("E1", "test-output"), ("E2", "log-template"), ("E3", "code"), ("E4", "commit")]


def test_five_whys_reply_cites_evidence_from_the_request(scenario_repo: ScenarioRepo) -> None:
    from fixloop.agents.investigator import FiveWhysReply

    model = scripted_model(Settings(), scenario_repo.scenario)
    try:
        reply = model.complete_json([ChatMessage("user", PROMPT)], FiveWhysReply, purpose="five_whys")
    finally:
        model.close()
    assert isinstance(reply, FiveWhysReply)
    assert len(reply.steps) >= 5
    cited = [eid for step in reply.steps for eid in step.evidence]
    assert all(step.evidence for step in reply.steps)
    assert set(cited) == {"E1", "E2", "E3", "E4"}  # every kind found its step; E9 is not evidence
    assert reply.steps[0].evidence == ["E1"]  # the symptom step cites the test output
    assert reply.fix_location == "app/server.py:handshake_status"
    assert "scripted reply derived from gold.patch of toy-handshake-500" in reply.summary


def test_five_whys_reply_without_evidence_cites_nothing(scenario_repo: ScenarioRepo) -> None:
    script = script_for_scenario(scenario_repo.scenario)
    respond = script["five_whys"][0].respond
    assert respond is not None
    reply = json.loads(respond(RecordedRequest(purpose="five_whys", body={"messages": []})))
    assert all(step["evidence"] == [] for step in reply["steps"])  # a checker must reject this, not us hide it


def test_fix_reply_is_the_gold_patch_and_applies_to_the_faulty_repo(scenario_repo: ScenarioRepo) -> None:
    from fixloop.agents.fixer import FixReply

    model = scripted_model(Settings(), scenario_repo.scenario)
    try:
        reply = model.complete_json([ChatMessage("user", "fix it")], FixReply, purpose="fix")
    finally:
        model.close()
    assert isinstance(reply, FixReply)
    gold = scenario_repo.scenario.gold_patch.read_text()
    assert reply.patch == gold
    assert reply.files == ["app/server.py"]
    assert reply.summary.startswith("scripted reply derived from gold.patch of toy-handshake-500")
    check = git(scenario_repo.repo, "apply", "--check", input_text=reply.patch)
    assert check.returncode == 0, check.stderr
    git(scenario_repo.repo, "checkout", "-q", scenario_repo.baseline)
    assert git(scenario_repo.repo, "apply", "--check", input_text=reply.patch).returncode != 0  # only fixes the fault


def test_audit_reply_passes_in_the_shape_asked_for(scenario_repo: ScenarioRepo) -> None:
    model = scripted_model(Settings(), scenario_repo.scenario)
    try:
        verdict = model.complete_json([ChatMessage("user", "audit this")], FixProposal, purpose="audit")
    finally:
        model.close()
    assert isinstance(verdict, FixProposal)
    assert verdict.validated is False  # a boolean not named like a verdict stays false
    assert "scripted" in verdict.summary


class AuditReview(BaseModel):  # the shape of the auditor's LLM review
    verdict: Literal["fail", "pass"]
    concerns: list[str] = Field(default_factory=list)
    duplicate_found: bool = True
    summary: str = ""


def test_audit_reply_picks_the_passing_verdict(scenario_repo: ScenarioRepo) -> None:
    model = scripted_model(Settings(), scenario_repo.scenario)
    try:
        review = model.complete_json([ChatMessage("user", "audit this")], AuditReview, purpose="audit")
    finally:
        model.close()
    assert review == AuditReview(
        verdict="pass", concerns=[], duplicate_found=False, summary=label(scenario_repo.scenario)
    )


def test_scenario_without_gold_patch_is_a_usage_error(scenario_repo: ScenarioRepo) -> None:
    scenario_repo.scenario.gold_patch.unlink()
    with pytest.raises(UsageError, match=r"no readable gold\.patch"):
        script_for_scenario(scenario_repo.scenario)


def test_overrides_put_faults_before_the_scenarios_own_steps(scenario_repo: ScenarioRepo) -> None:
    from fixloop.agents.fixer import FixReply

    model = scripted_model(Settings(), scenario_repo.scenario, steps={"fix": ["429", "garbage", "scenario"]})
    try:
        reply = model.complete_json([ChatMessage("user", "fix it")], FixReply, purpose="fix")
        assert model.server.served("fix") == 3
    finally:
        model.close()
    assert isinstance(reply, FixReply)
    assert reply.patch == scenario_repo.scenario.gold_patch.read_text()


def test_overrides_from_the_environment_make_a_permanent_fault(
    scenario_repo: ScenarioRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fixloop.agents.fixer import FixReply

    monkeypatch.setenv(STEPS_ENV, '{"fix": ["wrong-schema"]}')
    model = scripted_model(Settings(), scenario_repo.scenario)
    try:
        with pytest.raises(ModelError, match="does not match the FixReply schema"):
            model.complete_json([ChatMessage("user", "fix it")], FixReply, purpose="fix")
    finally:
        model.close()


@pytest.mark.parametrize(
    ("raw", "told"),
    [("{not json", "is not JSON"), ('{"fix": "500"}', "object of lists"), ('{"fix": [{"fault": "boom"}]}', "fault")],
)
def test_bad_overrides_are_usage_errors(
    scenario_repo: ScenarioRepo, monkeypatch: pytest.MonkeyPatch, raw: str, told: str
) -> None:
    monkeypatch.setenv(STEPS_ENV, raw)
    with pytest.raises(UsageError, match=told):
        scripted_model(Settings(), scenario_repo.scenario)


def test_a_scripted_timeout_outlasts_the_configured_client_timeout(scenario_repo: ScenarioRepo) -> None:
    from fixloop.agents.fixer import FixReply

    settings = Settings(llm=LLMSettings(mode="scripted", timeout=0.3, max_retries=1))
    model = scripted_model(settings, scenario_repo.scenario, steps={"fix": ["timeout", "scenario"]})
    try:
        reply = model.complete_json([ChatMessage("user", "fix it")], FixReply, purpose="fix")
        assert model.server.hang_seconds > settings.llm.timeout
    finally:
        model.close()
    assert isinstance(reply, FixReply)
    assert model.usage.calls == 2


def test_real_scenarios_five_whys_tell_its_story() -> None:
    scenario = load_scenario("handshake-500")
    request = RecordedRequest(purpose="five_whys", body={"messages": [{"role": "user", "content": PROMPT}]})
    reply = json.loads(five_whys_reply(scenario, request))
    answers = [step["answer"] for step in reply["steps"]]
    assert str(scenario.extra["log_evidence"]) in answers[2]
    assert scenario.trigger in answers[1]
    assert reply["fix_location"] == f"{scenario.expected_file}:{scenario.expected_function}"
