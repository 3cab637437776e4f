"""RunContext: JSON fields only; the clients are built lazily, once per process per context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langgraph.pregel.main import _coerce_context

from fixloop.config import load_settings
from fixloop.context import RunContext
from fixloop.errors import RunInputError, UsageError
from fixloop.redaction import Redactor


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    return repo


def test_langgraph_coerces_the_json_context_and_it_round_trips(tmp_path: Path) -> None:
    spec: dict[str, Any] = {
        "thread_id": "t-1",
        "repo": str(_repo(tmp_path)),
        "llm": "none",
        "out_dir": str(tmp_path / "o"),
    }
    ctx = _coerce_context(RunContext, spec)
    assert isinstance(ctx, RunContext)
    assert ctx.spec() == {**RunContext(**spec).spec(), **spec}
    assert RunContext(**ctx.spec()).spec() == ctx.spec()


def test_clients_are_built_on_first_use_not_at_construction(tmp_path: Path) -> None:
    # an unknown scenario: building the scripted model fails, but only when a node asks for the model
    ctx = RunContext(thread_id="t-2", repo=_repo(tmp_path), llm="scripted", scenario="no-such-scenario")
    with pytest.raises(UsageError, match="no-such-scenario"):
        _ = ctx.model


def test_one_bundle_of_clients_per_context_in_a_process(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    first = RunContext(thread_id="t-3", repo=repo)
    again = RunContext(thread_id="t-3", repo=repo)
    other = RunContext(thread_id="t-4", repo=repo)
    assert first.settings is again.settings and first.redactor is again.redactor
    assert other.settings is not first.settings
    assert first.model is None and first.settings.llm.mode == "none"


def test_injected_clients_are_the_runs_and_an_absent_one_stays_absent(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    settings = load_settings(repo)
    redactor = Redactor()
    ctx = RunContext(thread_id="t-5", repo=repo, llm="scripted", settings=settings, redactor=redactor)
    assert ctx.settings is settings and ctx.redactor is redactor
    assert ctx.model is None and ctx.codehost is None  # not built behind the caller's back


def test_default_out_dir_needs_no_io_and_lives_under_fixloop_home(tmp_path: Path, isolated_fixloop_home: Path) -> None:
    ctx = RunContext(thread_id="t-6", repo=_repo(tmp_path))
    assert ctx.out_dir == isolated_fixloop_home / "runs" / "t-6"


def test_bad_fields_are_one_error_naming_each() -> None:
    with pytest.raises(RunInputError) as caught:
        RunContext(thread_id="", repo="relative", stop_at="deploy", colour="blue")
    text = str(caught.value)
    assert all(word in text for word in ("thread_id", "repo", "stop_at", "colour")) and "\n" not in text
