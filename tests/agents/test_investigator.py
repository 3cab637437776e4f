"""The model investigator: a five-whys chain as structured output, its citations checked, asked again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixloop.agents.citations import citation_problems
from fixloop.agents.investigator import investigate
from fixloop.agents.triage import categorize
from fixloop.config import Settings
from fixloop.errors import ModelError
from fixloop.integrations.llm.openai_chat import OpenAIChatModel, RetryPolicy
from fixloop.integrations.llm.scripted import scripted_model
from fixloop.integrations.llm.scripted_server import ScriptedServer
from fixloop.integrations.logs.file import FileLogSource
from fixloop.redaction import Redactor
from fixloop.scenarios import Scenario
from fixloop.tools.evidence import gather_evidence
from tests.agents import failure_samples as samples
from tests.agents.llm_fixtures import CANARY, bundle, category, redact_canary
from tests.integrations.llm.scenario_repo import ScenarioRepo
from tests.tools.localize_repo import make_repo
from tests.tools.test_evidence import write_logs


def chain_reply(cite: list[list[str]]) -> str:
    steps = [{"question": f"Why {i}?", "answer": f"Because {i}.", "evidence": ids} for i, ids in enumerate(cite)]
    return json.dumps(
        {"steps": steps, "root_cause": "handshake raises", "fix_location": "app/server.py", "confidence": 0.7}
    )


GOOD = chain_reply([["E1"], ["E2"], ["E2", "E3"], ["E3"], ["E4"]])


def model_on(server: ScriptedServer) -> OpenAIChatModel:
    return OpenAIChatModel(model="scripted:test", api_key="k", base_url=server.url, retry=RetryPolicy(backoff=0.01))


def test_scripted_chain_cites_the_bundles_evidence(scenario_repo: ScenarioRepo) -> None:
    model = scripted_model(Settings(), scenario_repo.scenario)
    try:
        chain = investigate(model, category(), bundle(), redact=redact_canary, focus="websockets")
        prompt = model.server.requests[0].text()
    finally:
        model.close()
    assert chain.method == "llm"
    assert len(chain.steps) >= 5
    cited = {eid for step in chain.steps for eid in step.evidence}
    assert cited <= bundle().ids()
    assert all(step.evidence for step in chain.steps)
    assert chain.fix_location == "app/server.py:handshake_status"
    assert "### E1 [test-output] test_handshake failed" in prompt
    assert "Focus of the run: websockets" in prompt
    assert "tests/test_ws.py::test_handshake" in prompt


def test_dangling_citation_is_sent_back_then_a_valid_chain_is_kept() -> None:
    dangling = chain_reply([["E1"], ["E99"], ["E2"], ["E3"], ["E4"]])
    with ScriptedServer({"five_whys": [dangling, GOOD]}) as server:
        chain = investigate(model_on(server), category(), bundle(), redact=redact_canary)
        retry = server.requests[1].messages
    assert [s.evidence for s in chain.steps][1] == ["E2"]
    assert retry[-2]["role"] == "assistant"
    assert "E99" in retry[-1]["content"]
    assert "rejected" in retry[-1]["content"]


def test_uncited_step_is_sent_back() -> None:
    uncited = chain_reply([["E1"], [], ["E2"], ["E3"], ["E4"]])
    with ScriptedServer({"five_whys": [uncited, GOOD]}) as server:
        investigate(model_on(server), category(), bundle(), redact=redact_canary)
        assert server.served("five_whys") == 2


def test_chain_shorter_than_five_steps_is_asked_again() -> None:
    short = chain_reply([["E1"], ["E2"], ["E3"]])
    with ScriptedServer({"five_whys": [short, GOOD]}) as server:
        chain = investigate(model_on(server), category(), bundle(), redact=redact_canary)
        assert "steps" in server.requests[1].messages[-1]["content"]
    assert len(chain.steps) == 5


def test_no_valid_chain_raises_model_error_for_the_caller_to_degrade() -> None:
    dangling = chain_reply([["E1"], ["E99"], ["E2"], ["E3"], ["E4"]])
    with ScriptedServer({"five_whys": [dangling]}) as server:
        with pytest.raises(ModelError, match="no valid five-whys chain for server-error-1 in 3 tries"):
            investigate(model_on(server), category(), bundle(), redact=redact_canary)
        assert server.served("five_whys") == 3


@pytest.mark.parametrize("fault", ["429", "500", "garbage", "wrong-schema"])
def test_model_fault_then_ok_gives_a_chain(fault: str) -> None:
    with ScriptedServer({"five_whys": [fault, GOOD]}) as server:
        chain = investigate(model_on(server), category(), bundle(), redact=redact_canary)
    assert chain.root_cause == "handshake raises"


def test_permanent_model_fault_raises_model_error() -> None:
    with ScriptedServer({"five_whys": ["500"]}) as server, pytest.raises(ModelError, match="HTTP 500"):
        investigate(model_on(server), category(), bundle(), redact=redact_canary)


def test_secrets_never_reach_the_model() -> None:
    dangling = chain_reply([["E1"], ["E99"], ["E2"], ["E3"], ["E4"]])
    with ScriptedServer({"five_whys": ["garbage", dangling, GOOD]}) as server:
        investigate(
            model_on(server),
            category(title=f"auth fails with {CANARY}"),
            bundle(secret_in_log=f"Authorization: Bearer {CANARY}"),
            redact=redact_canary,
            feedback=f"the last fix printed {CANARY}",
        )
        assert len(server.requests) == 3
        for request in server.requests:
            assert CANARY not in json.dumps(request.body)
        assert "Bearer [REDACTED]" in server.requests[0].text()


def test_real_redactor_keeps_planted_secrets_out_of_the_prompt() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWNhbmFyeS0xMjM0"
    secret = "chat-jwt-canary-81f3a9"
    redactor = Redactor(env={"CHAT_JWT_SECRET": secret}, secret_env_names=["CHAT_JWT_SECRET"])
    with ScriptedServer({"five_whys": [GOOD]}) as server:
        investigate(
            model_on(server),
            category(title=f"handshake fails, secret {secret}"),
            bundle(secret_in_log=f"token={jwt} signed with {secret}"),
            redact=redactor.redact,
        )
        sent = json.dumps(server.requests[0].body)
    assert jwt not in sent
    assert secret not in sent
    assert "REDACTED" in sent


def test_scripted_chain_passes_the_checker_on_a_real_triage_bundle(tmp_path: Path) -> None:
    """Real categorize + gather_evidence on a sample repo; the scripted five whys built from the prompt."""
    repo = make_repo(tmp_path / "repo")
    run = samples.seed_run()
    found = categorize(run, [], repo=repo)[0]
    real_bundle = gather_evidence(found, run, repo=repo, logs=FileLogSource(write_logs(repo)), settings=Settings())
    folder = tmp_path / "scenario"
    folder.mkdir()
    (folder / "gold.patch").write_text("--- a/chat/sessions.py\n+++ b/chat/sessions.py\n@@ -1 +1 @@\n-a\n+b\n")
    scenario = Scenario(
        name="sessions-rename",
        path=folder,
        description="open() reads a renamed session backend key",
        focus="websockets",
        expected_kinds=["server-error"],
        expected_file="chat/sessions.py",
        expected_function="open",
    )
    model = scripted_model(Settings(), scenario)
    try:
        chain = investigate(model, found, real_bundle, redact=Redactor(env={}).redact, focus="websockets")
    finally:
        model.close()
    assert citation_problems(chain, real_bundle) == []
    kinds = {item.id: item.kind for item in real_bundle.items}
    assert kinds[chain.steps[0].evidence[0]] == "test-output"
    assert kinds[chain.steps[2].evidence[0]] in ("log-template", "log-line")
    assert kinds[chain.steps[3].evidence[0]] == "code"
    assert chain.fix_location == "chat/sessions.py:open"
