"""SSOT audit: duplicates of what exists, deleted assertions, added skips, weakened tests, LLM review.

Patches are made with real git (`git diff`) against a small real repository."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fixloop.agents.auditor import audit_patch
from fixloop.config import Settings
from fixloop.integrations.llm import ScriptedChatModel, scripted_model
from fixloop.records import AuditResult
from fixloop.scenarios import load_scenario

EVENTS = '''\
"""Event names: the single source of truth."""

AGENT_THINKING = "agent_think"
AGENT_COMPLETED = "agent_completed"
'''
AUTH = """\
import os

SECRET_ENV = "CHAT_JWT_SECRET"


def make_token(user):
    return f"{user}:{os.environ[SECRET_ENV]}"
"""
HANDLERS = """\
from server import events


def on_message(send):
    send(events.AGENT_THINKING)
    send(events.AGENT_COMPLETED)
"""
TEST_EVENTS = """\
import pytest

from server.handlers import on_message

EXPECTED_THINKING = "agent_thinking"


def test_thinking_event_name():
    sent = []
    on_message(sent.append)
    assert sent[0] == EXPECTED_THINKING
    assert len(sent) == 2


def test_bad_input():
    with pytest.raises(TypeError):
        on_message(None)
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "target"
    files = {
        "server/__init__.py": "",
        "server/events.py": EVENTS,
        "server/auth.py": AUTH,
        "server/handlers.py": HANDLERS,
        "tests/__init__.py": "",
        "tests/test_events.py": TEST_EVENTS,
        "pyproject.toml": '[tool.pytest.ini_options]\naddopts = "-ra"\n',
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    return root


def make_patch(repo: Path, edits: dict[str, str | None]) -> str:
    """The `git diff` of ``edits`` (path -> new text, None deletes); the repo is restored afterwards."""
    for rel, text in edits.items():
        if text is None:
            (repo / rel).unlink()
        else:
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            (repo / rel).write_text(text)
    git(repo, "add", "-A")
    patch = git(repo, "diff", "--cached")
    git(repo, "reset", "-q", "--hard")
    return patch


def checks(result: AuditResult) -> list[str]:
    return [f.check for f in result.findings]


def edit(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


# ---------------------------------------------------------------- duplicates


def test_fix_in_the_single_definition_passes(repo: Path) -> None:
    patch = make_patch(repo, {"server/events.py": edit(EVENTS, '"agent_think"', '"agent_thinking"')})
    result = audit_patch(patch, repo)
    assert result.passed, result.findings
    assert result.findings == []
    assert result.reviewer == "deterministic"


def test_second_copy_of_an_event_constant_fails_duplicate_constant(repo: Path) -> None:
    shadow = edit(HANDLERS, "\n\ndef on_message", '\nAGENT_THINKING = "agent_thinking"\n\n\ndef on_message')
    shadow = edit(shadow, "send(events.AGENT_THINKING)", "send(AGENT_THINKING)")
    result = audit_patch(make_patch(repo, {"server/handlers.py": shadow}), repo)
    assert not result.passed
    [finding] = result.findings
    assert finding.check == "duplicate-constant"
    assert finding.file == "server/handlers.py"
    assert finding.line == 3
    assert "server/events.py:3" in finding.message


def test_new_constant_with_an_existing_value_fails_duplicate_constant(repo: Path) -> None:
    copy = edit(HANDLERS, "\n\ndef on_message", '\nDONE = "agent_completed"\n\n\ndef on_message')
    result = audit_patch(make_patch(repo, {"server/handlers.py": copy}), repo)
    assert checks(result) == ["duplicate-constant"]
    assert "AGENT_COMPLETED at server/events.py:4" in result.findings[0].message


def test_test_constants_are_not_counted_against_production_code(repo: Path) -> None:
    # tests/test_events.py already has EXPECTED_THINKING = "agent_thinking": a new production
    # constant with that value is not a duplicate of a test's expectation.
    added = edit(
        EVENTS,
        'AGENT_COMPLETED = "agent_completed"',
        'AGENT_COMPLETED = "agent_completed"\nTHINKING_V2 = "agent_thinking"',
    )
    assert audit_patch(make_patch(repo, {"server/events.py": added}), repo).passed


def test_duplicate_helper_fails_duplicate_definition(repo: Path) -> None:
    helper = HANDLERS + '\n\ndef make_token(user):\n    return user + ":secret"\n'
    result = audit_patch(make_patch(repo, {"server/handlers.py": helper}), repo)
    assert checks(result) == ["duplicate-definition"]
    assert "server/auth.py:6" in result.findings[0].message


def test_moving_a_helper_is_not_a_duplicate(repo: Path) -> None:
    moved_auth = 'import os\n\nSECRET_ENV = "CHAT_JWT_SECRET"\n'
    new_home = (
        "import os\n\nfrom server.auth import SECRET_ENV\n\n\ndef make_token(user):\n"
        '    return f"{user}:{os.environ[SECRET_ENV]}"\n'
    )
    patch = make_patch(repo, {"server/auth.py": moved_auth, "server/tokens.py": new_home})
    assert audit_patch(patch, repo).passed


def test_reading_an_env_var_that_already_has_a_setting_fails_duplicate_config_key(repo: Path) -> None:
    reread = "import os\n" + HANDLERS + '\n\ndef secret():\n    return os.environ.get("CHAT_JWT_SECRET", "")\n'
    result = audit_patch(make_patch(repo, {"server/handlers.py": reread}), repo)
    assert checks(result) == ["duplicate-config-key"]
    assert "SECRET_ENV at server/auth.py:3" in result.findings[0].message


# ---------------------------------------------------------------- skips


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("def test_thinking_event_name():", '@pytest.mark.skip(reason="flaky")\ndef test_thinking_event_name():'),
        ("def test_thinking_event_name():", "@pytest.mark.xfail\ndef test_thinking_event_name():"),
        ("def test_thinking_event_name():", "@pytest.mark.skipif(True, reason='x')\ndef test_thinking_event_name():"),
        ("    sent = []\n", '    pytest.skip("server broken")\n    sent = []\n'),
        ("import pytest\n", 'import pytest\n\nws = pytest.importorskip("websockets")\n'),
    ],
    ids=["skip", "xfail", "skipif", "skip-call", "importorskip"],
)
def test_added_skip_is_caught(repo: Path, old: str, new: str) -> None:
    patch = make_patch(repo, {"tests/test_events.py": edit(TEST_EVENTS, old, new)})
    result = audit_patch(patch, repo)
    assert "added-skip" in checks(result)
    assert all(f.file == "tests/test_events.py" for f in result.findings)
    assert not result.passed


def test_deselecting_tests_in_pytest_config_is_caught(repo: Path) -> None:
    config = '[tool.pytest.ini_options]\naddopts = "-ra --deselect tests/test_events.py::test_bad_input"\n'
    result = audit_patch(make_patch(repo, {"pyproject.toml": config}), repo)
    assert checks(result) == ["added-skip"]
    assert result.findings[0].line == 2


# ---------------------------------------------------------------- weaker tests


def test_deleted_assert_is_caught(repo: Path) -> None:
    patch = make_patch(repo, {"tests/test_events.py": edit(TEST_EVENTS, "    assert len(sent) == 2\n", "")})
    result = audit_patch(patch, repo)
    assert checks(result) == ["deleted-assertion"]
    assert result.findings[0].line == 12
    assert "test_thinking_event_name" in result.findings[0].message


def test_deleted_pytest_raises_is_caught(repo: Path) -> None:
    weaker = edit(
        TEST_EVENTS, "    with pytest.raises(TypeError):\n        on_message(None)\n", "    on_message(print)\n"
    )
    result = audit_patch(make_patch(repo, {"tests/test_events.py": weaker}), repo)
    assert checks(result) == ["deleted-assertion"]


def test_deleted_test_function_is_caught(repo: Path) -> None:
    gone = TEST_EVENTS[: TEST_EVENTS.index("\n\ndef test_bad_input")] + "\n"
    result = audit_patch(make_patch(repo, {"tests/test_events.py": gone}), repo)
    assert checks(result) == ["deleted-assertion"]
    assert "test_bad_input is deleted" in result.findings[0].message


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("assert sent[0] == EXPECTED_THINKING", "assert sent[0]", "weaker"),
        ("assert len(sent) == 2", "assert len(sent) == 2 or True", "weaker"),
        ("assert len(sent) == 2", "assert True", "never fail"),
        ("pytest.raises(TypeError)", "pytest.raises(Exception)", "broadened"),
        (
            "    assert sent[0] == EXPECTED_THINKING\n",
            "    try:\n        assert sent[0] == EXPECTED_THINKING\n    except AssertionError:\n        pass\n",
            "swallows",
        ),
        (
            "    sent = []\n    on_message(sent.append)\n    assert sent[0] == EXPECTED_THINKING\n",
            "    for _ in range(5):\n        sent = []\n        on_message(sent.append)\n        try:\n"
            "            assert sent[0] == EXPECTED_THINKING\n            break\n        except AssertionError:\n"
            "            continue\n",
            "retry loop",
        ),
        ("def test_thinking_event_name():", "@pytest.mark.flaky(reruns=3)\ndef test_thinking_event_name():", "retry"),
    ],
    ids=["truthiness", "or-true", "assert-true", "broader-raises", "try-except", "retry-loop", "flaky"],
)
def test_weakened_test_is_caught(repo: Path, old: str, new: str, words: str) -> None:
    patch = make_patch(repo, {"tests/test_events.py": edit(TEST_EVENTS, old, new)})
    result = audit_patch(patch, repo)
    weakened = [f for f in result.findings if f.check == "weakened-test"]
    assert weakened, result.findings
    assert any(words in f.message for f in weakened), weakened
    assert not result.passed


def test_a_stronger_assert_and_a_new_test_pass(repo: Path) -> None:
    stronger = edit(TEST_EVENTS, "assert len(sent) == 2", "assert sent == [EXPECTED_THINKING, 'agent_completed']")
    stronger += (
        "\n\ndef test_order():\n    sent = []\n    on_message(sent.append)\n    assert sent[-1] == 'agent_completed'\n"
    )
    result = audit_patch(make_patch(repo, {"tests/test_events.py": stronger}), repo)
    assert result.passed, result.findings


# ---------------------------------------------------------------- bad patches


def test_garbage_patch_fails_the_audit_with_a_reason(repo: Path) -> None:
    result = audit_patch("this is not a diff", repo)
    assert not result.passed
    assert checks(result) == ["unreadable-patch"]


def test_patch_that_does_not_apply_fails_the_audit(repo: Path) -> None:
    patch = make_patch(repo, {"server/events.py": edit(EVENTS, '"agent_think"', '"agent_thinking"')})
    result = audit_patch(patch.replace('-AGENT_THINKING = "agent_think"', '-AGENT_THINKING = "other"'), repo)
    assert checks(result) == ["unreadable-patch"]


def test_patch_outside_the_repository_is_refused(repo: Path) -> None:
    patch = textwrap.dedent("""\
        --- a/../outside.py
        +++ b/../outside.py
        @@ -0,0 +1 @@
        +X = 1
        """)
    result = audit_patch(patch, repo)
    assert checks(result) == ["unreadable-patch"]
    assert "outside the repository" in result.findings[0].message


def test_patch_that_breaks_syntax_fails(repo: Path) -> None:
    broken = edit(EVENTS, 'AGENT_COMPLETED = "agent_completed"', "AGENT_COMPLETED = (")
    result = audit_patch(make_patch(repo, {"server/events.py": broken}), repo)
    assert checks(result) == ["syntax-error"]


# ---------------------------------------------------------------- LLM review (the shipped scripted model)


ReviewFactory = Callable[[list[Any]], ScriptedChatModel]


@pytest.fixture
def review_model() -> Iterator[ReviewFactory]:
    """The scripted model (real openai client -> local scripted server) with the audit replies given."""
    made: list[ScriptedChatModel] = []

    def make(audit_steps: list[Any]) -> ScriptedChatModel:
        model = scripted_model(Settings(), load_scenario("renamed-event"), steps={"audit": audit_steps})
        made.append(model)
        return model

    yield make
    for model in made:
        model.close()


def test_llm_review_failing_verdict_adds_a_finding(repo: Path, review_model: ReviewFactory) -> None:
    patch = make_patch(repo, {"server/events.py": edit(EVENTS, '"agent_think"', '"agent_thinking"')})
    model = review_model([{"verdict": "fail", "concerns": ["server/events.py:3 hides the symptom"], "summary": "no"}])
    result = audit_patch(
        patch, repo, model=model, root_cause="wrong event name", redact=lambda t: t.replace("agent", "***")
    )
    assert result.reviewer == "deterministic+llm"
    assert not result.passed
    assert checks(result) == ["llm-review"]
    assert result.findings[0].message == "server/events.py:3 hides the symptom"
    [request] = model.server.requests
    assert request.purpose == "audit"
    assert set(request.schema["properties"]) == {"verdict", "concerns", "summary"}
    prompt = request.text()
    assert "server/events.py" in prompt and "***_thinking" in prompt and "wrong event name" in prompt
    assert "agent_thinking" not in prompt  # the redactor ran over everything sent


def test_llm_review_pass_keeps_deterministic_findings(repo: Path, review_model: ReviewFactory) -> None:
    patch = make_patch(repo, {"tests/test_events.py": edit(TEST_EVENTS, "    assert len(sent) == 2\n", "")})
    model = review_model(["scenario"])  # the scenario's own scripted audit: a labelled pass
    result = audit_patch(patch, repo, model=model)
    assert result.reviewer == "deterministic+llm"
    assert not result.passed
    assert checks(result) == ["deleted-assertion"]
    assert "[deleted-assertion]" in model.server.requests[0].text()  # the reviewer sees the findings
    assert "scripted" in result.notes[0]


def test_llm_review_error_leaves_the_deterministic_verdict_with_a_note(repo: Path, review_model: ReviewFactory) -> None:
    patch = make_patch(repo, {"server/events.py": edit(EVENTS, '"agent_think"', '"agent_thinking"')})
    result = audit_patch(patch, repo, model=review_model(["500"]))
    assert result.passed
    assert result.reviewer == "deterministic"
    assert "LLM review unavailable" in result.notes[0]


def test_deleting_a_test_file_is_caught(repo: Path) -> None:
    result = audit_patch(make_patch(repo, {"tests/test_events.py": None}), repo)
    assert [f.check for f in result.findings] == ["deleted-assertion", "deleted-assertion"]
    assert {f.file for f in result.findings} == {"tests/test_events.py"}


def test_new_module_copying_an_existing_helper_is_caught(repo: Path) -> None:
    copy = "import os\n\n\ndef make_token(user):\n    return f\"{user}:{os.environ['X']}\"\n"
    result = audit_patch(make_patch(repo, {"server/tokens.py": copy}), repo)
    assert [f.check for f in result.findings] == ["duplicate-definition"]
    assert result.findings[0].file == "server/tokens.py"


def test_a_new_test_with_its_own_assertions_passes(repo: Path) -> None:
    new_test = (
        "from server.handlers import on_message\n\n\ndef test_two_events():\n    sent = []\n"
        "    on_message(sent.append)\n    assert len(sent) == 2\n"
    )
    assert audit_patch(make_patch(repo, {"tests/test_more.py": new_test}), repo).passed


def test_class_fields_are_not_constants(repo: Path) -> None:
    # A lowercase class attribute (a field or default) that happens to equal a constant's value is not a copy.
    added = HANDLERS + '\n\nclass Handler:\n    name = "agent_completed"\n    kind: str = "agent_completed"\n'
    assert audit_patch(make_patch(repo, {"server/handlers.py": added}), repo).passed
    upper = HANDLERS + '\n\nclass Handler:\n    DONE = "agent_completed"\n'
    result = audit_patch(make_patch(repo, {"server/handlers.py": upper}), repo)
    assert [f.check for f in result.findings] == ["duplicate-constant"]


def test_an_assert_about_something_else_is_not_a_weaker_one(repo: Path) -> None:
    changed = edit(TEST_EVENTS, "    assert len(sent) == 2\n", '    assert EXPECTED_THINKING.startswith("agent")\n')
    assert audit_patch(make_patch(repo, {"tests/test_events.py": changed}), repo).passed


def test_module_local_names_are_not_duplicates(repo: Path) -> None:
    base = edit(
        AUTH,
        "\n\ndef make_token",
        "\nROOT = os.path.dirname(__file__)\n\n\ndef _load():\n    return 1\n\n\ndef make_token",
    )
    assert audit_patch(make_patch(repo, {"server/auth.py": base}), repo).passed
    (repo / "server/auth.py").write_text(base)
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "auth helpers")
    copy = "import os\n" + HANDLERS + "\nROOT = os.path.dirname(__file__)\n\n\ndef _load():\n    return 2\n"
    result = audit_patch(make_patch(repo, {"server/handlers.py": copy}), repo)
    assert result.passed, result.findings  # a private helper and an import-time path are module-local
