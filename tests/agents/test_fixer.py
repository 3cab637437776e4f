"""The fixer: a patch from the model, checked by real git against the target repo, asked again on failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fixloop.agents.fixer import check_patch, propose_fix
from fixloop.config import LLMSettings, Settings
from fixloop.errors import ModelError
from fixloop.integrations.llm import build_model
from fixloop.integrations.llm.openai_chat import OpenAIChatModel, RetryPolicy
from fixloop.integrations.llm.scripted import scripted_model
from fixloop.integrations.llm.scripted_server import ScriptedServer
from fixloop.scenarios import Scenario, list_scenarios, prepare_workspace
from tests.agents.llm_fixtures import CANARY, bundle, category, chain, redact_canary
from tests.integrations.llm.scenario_repo import ScenarioRepo, git


def fix_reply(patch: str) -> str:
    return json.dumps({"summary": "change the handshake", "patch": patch, "files": ["app/server.py"]})


def model_on(server: ScriptedServer) -> OpenAIChatModel:
    return OpenAIChatModel(model="scripted:test", api_key="k", base_url=server.url, retry=RetryPolicy(backoff=0.01))


def test_scripted_fix_is_the_gold_patch_and_applies(scenario_repo: ScenarioRepo) -> None:
    model = scripted_model(Settings(), scenario_repo.scenario)
    try:
        proposal = propose_fix(
            model, category(), bundle(), chain(), repo=scenario_repo.repo, redact=redact_canary, attempt=2
        )
    finally:
        model.close()
    assert proposal.patch == scenario_repo.scenario.gold_patch.read_text()
    assert proposal.files == ["app/server.py"]
    assert proposal.attempt == 2
    assert "scripted reply derived from gold.patch" in proposal.summary
    assert git(scenario_repo.repo, "apply", "--check", input_text=proposal.patch).returncode == 0


def test_prompt_shows_chain_evidence_and_the_file_to_change(scenario_repo: ScenarioRepo) -> None:
    model = scripted_model(Settings(), scenario_repo.scenario)
    try:
        propose_fix(
            model, category(), bundle(), chain(), repo=scenario_repo.repo, redact=redact_canary, feedback="audit: x"
        )
        prompt = model.server.requests[0].text()
    finally:
        model.close()
    assert "Root cause: handshake_status raises instead of accepting /ws" in prompt
    assert "### E2 [log-template] RuntimeError in handshake" in prompt
    assert "raise RuntimeError('session store missing')" in prompt  # the current (faulty) file content
    assert "audit: x" in prompt
    assert "### E3 [code]" not in prompt  # its line is in the source excerpts shown below it
    assert "lines 1-" in prompt or "lines 2-" in prompt  # excerpts say where they are in the file


def test_the_fixer_hears_only_the_evidence_the_chain_cites(scenario_repo: ScenarioRepo) -> None:
    cited = chain()
    for step in cited.steps:
        step.evidence = ["E2"]
    model = scripted_model(Settings(), scenario_repo.scenario)
    try:
        propose_fix(model, category(), bundle(), cited, repo=scenario_repo.repo, redact=redact_canary)
        prompt = model.server.requests[0].text()
    finally:
        model.close()
    assert "### E2 [log-template]" in prompt and "source: server.log" in prompt  # a source the title lacks
    assert "### E1 " not in prompt and "### E4 " not in prompt and "abc123 change handshake" not in prompt


def test_secrets_never_reach_the_model(scenario_repo: ScenarioRepo) -> None:
    server_py = scenario_repo.repo / "app" / "server.py"
    server_py.write_text(server_py.read_text() + f'\nAPI_KEY = "{CANARY}"\n')  # a secret in the file shown
    with ScriptedServer({"fix": ["garbage", fix_reply("not a diff"), fix_reply("nope")]}) as server:
        with pytest.raises(ModelError):
            propose_fix(
                model_on(server),
                category(title=f"handshake fails with key {CANARY}"),
                bundle(secret_in_log=f"token={CANARY}"),
                chain(),
                repo=scenario_repo.repo,
                redact=redact_canary,
                feedback=f"previous fix leaked {CANARY}",
            )
        assert len(server.requests) == 4  # one re-ask for garbage JSON, then two rejected patches
        for request in server.requests:
            assert CANARY not in json.dumps(request.body)
        assert "[REDACTED]" in server.requests[0].text()


def test_a_patch_git_rejects_is_sent_back_with_gits_reason(scenario_repo: ScenarioRepo) -> None:
    gold = scenario_repo.scenario.gold_patch.read_text()
    stale = gold.replace("session store missing", "something else entirely")
    with ScriptedServer({"fix": [fix_reply(stale), fix_reply(gold)]}) as server:
        proposal = propose_fix(
            model_on(server), category(), bundle(), chain(), repo=scenario_repo.repo, redact=redact_canary
        )
        assert proposal.patch == gold
        retry = server.requests[1].messages[-1]["content"]
    assert "git apply --check failed" in retry
    assert "patch does not apply" in retry


def test_no_applicable_patch_raises_model_error(scenario_repo: ScenarioRepo) -> None:
    with ScriptedServer(
        {"fix": [fix_reply("--- a/../../etc/passwd\n+++ b/../../etc/passwd\n@@ -1 +1 @@\n-a\n+b\n")]}
    ) as server:
        with pytest.raises(ModelError, match=r"no applicable patch for server-error-1 in 3 tries: path .* is outside"):
            propose_fix(model_on(server), category(), bundle(), chain(), repo=scenario_repo.repo, redact=redact_canary)
        assert server.served("fix") == 3


def _diff(old_path: str, new_path: str, body: str = "@@ -1 +1 @@\n-a\n+b\n") -> str:
    return f"--- {old_path}\n+++ {new_path}\n{body}"


@pytest.mark.parametrize(
    ("patch", "reason"),
    [
        ("", "not a unified diff"),
        ("just some prose about the fix\n", "not a unified diff"),
        (_diff("/etc/passwd", "/etc/passwd"), "outside the repository"),
        (_diff("a/../x.py", "b/../x.py"), "outside the repository"),
        (_diff("/dev/null", "b/app/new.py", "@@ -0,0 +1 @@\n+x\n"), "creates or deletes a file"),
        (_diff("a/app/missing.py", "b/app/missing.py"), "does not exist in the repository"),
        (_diff("a/.git/config", "b/.git/config"), "inside .git"),
        (_diff("a/app/server.py", "b/app/server.py", "@@ -1 +1 @@\n-no such line\n+b\n"), "git apply --check failed"),
        ("--- a/app/server.py\n+++ b/app/server.py\n@@ garbage @@\n", "git cannot read the patch"),
    ],
)
def test_bad_patches_are_refused_with_a_reason(scenario_repo: ScenarioRepo, patch: str, reason: str) -> None:
    problem, files = check_patch(patch, scenario_repo.repo)
    assert reason in problem
    assert files == []


def test_good_patch_lists_its_files(scenario_repo: ScenarioRepo, tmp_path: Path) -> None:
    problem, files = check_patch(scenario_repo.scenario.gold_patch.read_text(), scenario_repo.repo)
    assert (problem, files) == ("", ["app/server.py"])


@pytest.mark.parametrize("scenario", list_scenarios(), ids=lambda s: s.name)
def test_every_scenarios_scripted_fix_applies_to_its_faulty_workspace(scenario: Scenario, tmp_path: Path) -> None:
    repo = prepare_workspace(tmp_path / "work", scenario)
    where = f"{scenario.expected_file}:{scenario.expected_function}"
    model = build_model(Settings(llm=LLMSettings(mode="scripted")), scenario=scenario.name)
    assert model is not None
    assert isinstance(model, OpenAIChatModel), model  # scripted mode: the openai client on the scripted server
    assert model.name == f"scripted:{scenario.name}"
    try:
        proposal = propose_fix(
            model, category(), bundle(), chain().model_copy(update={"fix_location": where}), repo=repo, redact=str
        )
    finally:
        model.close()
    assert proposal.patch == scenario.gold_patch.read_text()
    assert scenario.expected_file in proposal.files
    assert git(repo, "apply", "--check", input_text=proposal.patch).returncode == 0


def test_without_a_redactor_the_environment_secrets_are_still_masked(
    scenario_repo: ScenarioRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "env-canary-5be2c0d94f"
    monkeypatch.setenv("CHAT_JWT_SECRET", secret)
    gold = scenario_repo.scenario.gold_patch.read_text()
    with ScriptedServer({"fix": [fix_reply(gold)]}) as server:
        evidence = bundle(secret_in_log=f"key={secret}")
        propose_fix(model_on(server), category(), evidence, chain(), repo=scenario_repo.repo)
        sent = json.dumps(server.requests[0].body)
    assert secret not in sent
    assert "REDACTED" in sent
